"""Tests of ophyd_pvcam/cli/demo.py: the README's main job, end to end on the simulator."""
from ophyd_pvcam import catalog
from ophyd_pvcam.cli import main


def test_demo_counts_flies_reads_every_frame_back_and_writes_a_png(tmp_path, capsys):
    data_dir = tmp_path / "data"
    try:
        code = main(["demo", "--data-dir", str(data_dir), "--count", "2", "--fly-frames", "40",
                     "--roi-size", "64", "--exposure", "0.001", "--no-progress"])
    finally:
        catalog.close(data_dir)
    out = capsys.readouterr().out
    assert code == 0, out
    table = [line.split() for line in out.splitlines() if line.startswith(("count ", "fly_stream "))]
    assert [(row[0], row[2], row[3] + row[4] + row[5], row[-1]) for row in table] == [
        ("count", "2", "64x64", "yes"), ("fly_stream", "40", "64x64", "yes")]
    assert (data_dir / "demo-frame.png").read_bytes().startswith(b"\x89PNG")
    # The runs persist: a fresh client on the same folder finds both.
    client = catalog.local(data_dir)
    try:
        assert len(client) == 2
        assert client[-1].start["plan_name"] == "fly_stream"
    finally:
        catalog.close(data_dir)


def test_demo_checks_the_png_path_before_acquiring(tmp_path, capsys):
    data_dir = tmp_path / "data"
    code = main(["demo", "--data-dir", str(data_dir), "--png", str(tmp_path / "missing" / "p.png"),
                 "--count", "1", "--fly-frames", "5", "--roi-size", "32", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.strip() == f"ophyd-pvcam demo: error: folder {tmp_path / 'missing'} does not exist"
    assert not data_dir.exists()  # refused before the catalog was even opened
