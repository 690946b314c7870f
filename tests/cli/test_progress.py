"""Tests of ophyd_pvcam/cli/progress.py: the shell's progress bars and log lines in a terminal."""
import fcntl
import io
import logging
import os
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

from ophyd.status import DeviceStatus

from ophyd_pvcam.cli.progress import BarSafeHandler, TqdmProgressBar

REPO = Path(__file__).resolve().parents[2]
COLUMNS = 160
_CSI = re.compile(r"\x1b\[(\??[0-9;]*)([@-~])")
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(\x07|\x1b\\)")


def render(raw: str) -> list[str]:
    """What a terminal shows for ``raw`` (a small VT100 subset: text, CR, LF, cursor up/down, erase line)."""
    screen: list[list[str]] = [[]]
    row = col = 0
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "\x1b":
            csi, osc = _CSI.match(raw, i), _OSC.match(raw, i)
            if csi:
                arg, command = csi.groups()
                count = int(arg) if arg.isdigit() else 1
                if command == "A":
                    row = max(row - count, 0)
                elif command == "B":
                    row += count
                elif command == "K" and arg in ("", "0"):
                    while len(screen) <= row:
                        screen.append([])
                    del screen[row][col:]
                i = csi.end()
            elif osc:
                i = osc.end()
            else:
                i += 2
            continue
        while len(screen) <= row:
            screen.append([])
        line = screen[row]
        if char == "\n":        # the pty's ONLCR makes every LF a CR LF
            row, col = row + 1, 0
        elif char == "\r":
            col = 0
        elif char >= " ":
            line.extend(" " * (col + 1 - len(line)))
            line[col] = char
            col += 1
        i += 1
    return ["".join(line).rstrip() for line in screen]


def test_render_overwrites_after_a_carriage_return_and_moves_up():
    assert render("abcdef\rXY\nline2\n\x1b[A\x1b[AZ") == ["ZYcdef", "line2"]
    assert render("progress bar 10%\rWARNING x\n") == ["WARNING xbar 10%"]


def run_in_terminal(args, env):
    """Run ``args`` with stdin, stdout and stderr on a pseudo-terminal; return what it wrote."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, COLUMNS, 0, 0))
    process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO,
                               close_fds=True)
    os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 300)
            if not ready:
                process.kill()
                raise AssertionError("the shell wrote nothing for 300 s: " + b"".join(chunks).decode())
            try:
                chunk = os.read(master, 65536)
            except OSError:     # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        process.wait(timeout=60)
    return process.returncode, b"".join(chunks).decode("utf-8", "replace")


def test_log_lines_during_an_acquisition_never_share_a_line_with_a_progress_bar(tmp_path):
    # A named thread logs warnings while a 150-frame trigger shows its bar in a terminal.
    code = ("import logging, threading\n"
            "stop = threading.Event(); logged = []\n"
            "def chatter():\n"
            "    while not stop.wait(0.05):\n"
            "        logged.append(1)\n"
            "        logging.getLogger('ophyd_pvcam.chatter').warning('LOGLINE %d', len(logged))\n"
            "cam.roi.set((0, 0, 64, 64)).wait(10); cam.frames_per_trigger.set(150).wait(10)\n"
            "thread = threading.Thread(target=chatter, name='chatter')\n"
            "thread.start()\n"
            "try:\n"
            "    RE(count([cam], 1))\n"
            "finally:\n"
            "    stop.set(); thread.join()\n"
            "print('LOGGED', len(logged))\n")
    env = {**os.environ, "PVCAM_LIBRARY": "sim", "PVCAM_DATA_DIR": str(tmp_path / "data"),
           "IPYTHONDIR": str(tmp_path / "ipython"), "MPLBACKEND": "Agg", "TERM": "xterm"}
    env.pop("DISPLAY", None)
    returncode, raw = run_in_terminal([sys.executable, "-m", "ophyd_pvcam.cli", "shell", "--",
                                       "--no-banner", "--colors=NoColor", "-c", code], env)
    screen = render(raw)
    assert returncode == 0, "\n".join(screen)
    (logged,) = [int(line.split()[1]) for line in screen if line.startswith("LOGGED ")]
    assert logged > 5
    assert re.search(r"cam: +\d+%\|.*\| *[\d.]+/150(\.0)? \[", raw), raw  # a bar was drawn
    log_lines = [line for line in screen if "LOGLINE" in line]
    assert len(log_lines) == logged, "\n".join(screen)
    assert all(re.fullmatch(r"WARNING ophyd_pvcam\.chatter: LOGLINE \d+", line)
               for line in log_lines), "\n".join(screen)
    assert not [line for line in screen if "frames/s" in line or "%|" in line]  # bars removed


def test_console_handlers_write_through_tqdm_while_bars_are_shown_and_come_back_after():
    terminal = io.StringIO()
    status = DeviceStatus(device=None)
    original = logging.StreamHandler(sys.stderr)
    original.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    saved = list(root.handlers)
    root.handlers = [original]
    try:
        bar = TqdmProgressBar([status], delay_draw=0, file=terminal)
        (handler,) = root.handlers
        assert isinstance(handler, BarSafeHandler) and handler.original is original
        bar.clear()
        assert root.handlers == [original]   # given back when the bars go
    finally:
        root.handlers = saved
        status.set_finished()


def test_without_configured_handlers_the_bars_keep_loggings_last_resort_level():
    status = DeviceStatus(device=None)
    root = logging.getLogger()
    saved = list(root.handlers)
    root.handlers = []
    try:
        bar = TqdmProgressBar([status], delay_draw=0, file=io.StringIO())
        (handler,) = root.handlers
        assert handler.original is logging.lastResort and handler.level == logging.WARNING
        bar.clear()
        assert root.handlers == []
    finally:
        root.handlers = saved
        status.set_finished()
