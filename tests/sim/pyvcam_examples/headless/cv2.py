"""A display-free stand-in for the few OpenCV calls PyVCAM's examples make.

The examples show frames in OpenCV windows and stop when ESC is pressed. The
test machine has neither a display nor OpenCV, so this module (first on
``PYTHONPATH`` for the example's process only) keeps the image arithmetic the
examples rely on (resize, normalize, convertScaleAbs, in numpy) and replaces
the window calls: a window call does nothing, and ``waitKey`` plays a user who
presses ESC after ``PYVCAM_EXAMPLE_KEY_AFTER`` calls (default 20); ``waitKey(0)``,
"wait for any key", returns ESC at once.
"""
from __future__ import annotations

import os

import numpy as np

WINDOW_AUTOSIZE = 1
INTER_AREA = 3
NORM_MINMAX = 32
COLOR_BayerBGGR2BGR = 46
COLOR_BayerGBRG2BGR = 47
COLOR_BayerRGGB2BGR = 48
COLOR_BayerGRBG2BGR = 49

_ESC = 27
_calls = {"waitKey": 0}


def namedWindow(name, flags=WINDOW_AUTOSIZE):  # noqa: N802 (OpenCV's names)
    pass


def resizeWindow(name, *size):  # noqa: N802
    pass


def setWindowTitle(name, title):  # noqa: N802
    pass


def moveWindow(name, x, y):  # noqa: N802
    pass


def imshow(name, image):
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
        raise TypeError(f"imshow needs a 2-D or 3-D image, got {type(image).__name__}")


def destroyAllWindows():  # noqa: N802
    pass


def waitKey(delay=0):  # noqa: N802
    if delay <= 0:
        return _ESC
    _calls["waitKey"] += 1
    after = int(os.environ.get("PYVCAM_EXAMPLE_KEY_AFTER", "20"))
    return _ESC if _calls["waitKey"] >= after else -1


def resize(image, size, interpolation=INTER_AREA):
    width, height = size
    rows = (np.arange(height) * image.shape[0]) // height
    cols = (np.arange(width) * image.shape[1]) // width
    return image[rows][:, cols]


def normalize(image, dst=None, alpha=0, beta=255, norm_type=NORM_MINMAX):
    low, high = float(image.min()), float(image.max())
    scale = (beta - alpha) / (high - low) if high > low else 0.0
    return ((image.astype(np.float64) - low) * scale + alpha).astype(image.dtype)


def convertScaleAbs(image, alpha=1.0, beta=0.0):  # noqa: N802
    return np.clip(np.abs(image.astype(np.float64) * alpha + beta), 0, 255).astype(np.uint8)


def cvtColor(image, code):  # noqa: N802
    return np.repeat(image[..., None], 3, axis=-1)
