"""Where the in-process ophyd-async detector writes: one new HDF5 file name per stream."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

from ophyd_async.core import FilenameProvider, PathInfo, UUIDFilenameProvider

from ophyd_pvcam.storage.paths import default_root


class PVCAMPathProvider:
    """An ophyd-async ``PathProvider``: a fixed directory and a fresh file name per call.

    Parameters
    ----------
    directory : path-like, optional
        Where files go (created if missing). Default:
        :func:`ophyd_pvcam.storage.paths.default_root` (``PVCAM_DATA_DIR``);
        pass :func:`ophyd_pvcam.catalog.frames_dir` to let the embedded catalog
        serve the frames.
    filename_provider : ophyd_async.core.FilenameProvider, optional
        Default: a new UUID per call, so files are never overwritten.

    Examples
    --------
    >>> provider = PVCAMPathProvider("/tmp/frames")     # doctest: +SKIP
    >>> provider("cam").filename                        # doctest: +SKIP
    '3f2c...'
    """

    def __init__(self, directory: Union[str, "os.PathLike[str]", None] = None,
                 filename_provider: Optional[FilenameProvider] = None) -> None:
        self.directory = Path(directory).expanduser().resolve() if directory is not None \
            else default_root()
        self.filename_provider = filename_provider or UUIDFilenameProvider()

    def __call__(self, datakey_name: Optional[str] = None) -> PathInfo:
        """Return the directory and a new file name (without ``.h5``) for ``datakey_name``.

        Parameters
        ----------
        datakey_name : str, optional
            The detector's data key (the file name provider may use it).

        Returns
        -------
        ophyd_async.core.PathInfo
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        return PathInfo(directory_path=self.directory,
                        filename=self.filename_provider(datakey_name), create_dir_depth=0)
