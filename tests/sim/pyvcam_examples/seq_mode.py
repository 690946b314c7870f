# Vendored unchanged (code below this header) from Photometrics/PyVCAM v2.3.2,
# commit b7b1bc2e1102d51fec9809cfe608d2a59e0949a5, examples/seq_mode.py.
# MIT License, Copyright (c) 2018 HerrZiffer: see LICENSE in this folder.
import time
import numpy as np

from pyvcam import pvc
from pyvcam.camera import Camera
from pyvcam import constants as const

NUM_FRAMES = 10


def print_frame_details(frame, frame_count, extra_info=''):
    low = np.amin(frame)
    high = np.amax(frame)
    avg = np.average(frame)
    print(f'Min: {low}\tMax: {high}\tAverage: {avg:.0f}'
          f'\tFrames: {frame_count}{extra_info}')


def main():
    pvc.init_pvcam()
    cam = next(Camera.detect_camera())
    cam.open()
    print(f'Camera: {cam.name}')

    cnt = 0

    print('\nUsing start_seq+poll_frame+finish:')
    cam.start_seq(exp_time=20, num_frames=NUM_FRAMES)
    while cnt < NUM_FRAMES:
        frame, fps, frame_count = cam.poll_frame()
        cnt += 1
        print_frame_details(frame['pixel_data'], frame_count,
                            f'\tFrame Rate: {fps:.1f}')
        time.sleep(0.05)
    cam.finish()

    print('\nUsing get_sequence:')
    frames = cam.get_sequence(NUM_FRAMES)
    for frame in frames:
        cnt += 1
        print_frame_details(frame, cnt)

    has_vtm = const.VARIABLE_TIMED_MODE in cam.exp_modes.values()
    print(f'\nUsing get_vtm_sequence with '
          f'{"native" if has_vtm else "emulated"} VTM:')
    if has_vtm:
        old_exp_mode = cam.exp_mode
        cam.exp_mode = const.VARIABLE_TIMED_MODE
    time_list = [i * 10 for i in range(1, 8)]  # [10, 20, 30, 40, 50, 60, 70]
    frames = cam.get_vtm_sequence(time_list, const.EXP_RES_ONE_MILLISEC, NUM_FRAMES)
    i = 0
    for frame in frames:
        cnt += 1
        print_frame_details(frame, cnt, f'\tExp. time: {time_list[i]}')
        i = (i + 1) % len(time_list)
    if has_vtm:
        cam.exp_mode = old_exp_mode

    print('\nUsing get_sequence with S.M.A.R.T. streaming:')
    if cam.check_param(const.PARAM_SMART_STREAM_MODE_ENABLED):
        time_list = list(range(0, 51, 10))  # [0, 10, 20, 30, 40, 50]
        cam.smart_stream_mode_enabled = True
        cam.smart_stream_exp_params = time_list
        frames = cam.get_sequence(NUM_FRAMES, exp_time=1)  # Non-zero exp_time!
        i = 0
        for frame in frames:
            cnt += 1
            print_frame_details(frame, cnt, f'\tExp. time: {time_list[i]}')
            i = (i + 1) % len(time_list)
        cam.smart_stream_mode_enabled = False
    else:
        print('Camera does not support S.M.A.R.T. streaming.')

    try:
        print('\nUsing poll_frame without starting acquisition:')
        frame, fps, frame_count = cam.poll_frame()
        cnt += 1
        print_frame_details(frame['pixel_data'], frame_count,
                            f'\tFrame Rate: {fps:.1f}')
    except RuntimeError as e:
        print(f'Expected error: {e}')

    print('\nUsing get_frame alone:')
    frame = cam.get_frame()
    cnt += 1
    print_frame_details(frame, cnt)

    cam.close()
    pvc.uninit_pvcam()

    print(f'\nTotal frames: {cnt}')


if __name__ == "__main__":
    main()
