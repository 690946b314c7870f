/*
 * errors.c - error codes, messages and the thread-local last error.
 *
 * pl_error_message writes "<sentence> (<NAME>)" exactly as the 3.10 library
 * does (reference section 6).  The last error is thread-local (reference 7.8:
 * the safer choice for callback-heavy clients).  Errors raised by the
 * simulator's own configuration calls (pvcam_sim_*, PVCAM_SIM_* variables at
 * init) carry a detail string; pl_error_message appends it as
 * " - <detail>" when asked about the calling thread's current error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

typedef struct err_entry {
    int16 code;
    const char *name;
    const char *text;
} err_entry;

static const char BUS_TEXT[] = "A mis-configuration of interface bus has occurred";

static const err_entry ERRORS[] = {
    {0, "PL_ERR_NONE", "No error"},
    {1, "PL_ERR_BC_STATUS_INVALID_BLOCK_NUM", "Trying to upload/download invalid block index"},
    {2, "PL_ERR_BC_UNSUPPORTED_TARGET", "Trying to communicate with an unsupported target"},
    {3, "PL_ERR_BC_INVALID_TARGET", "Trying to communicate with an invalid target"},
    {4, "PL_ERR_BC_TIMEOUT", "Timeout during transmission"},
    {5, "PL_ERR_BC_INVALID_OPCODE", "Bridge command is not recognized by this camera"},
    {6, "PL_ERR_BC_INVALID_LENGTH", "Payload is not the right length"},
    {7, "PL_ERR_BC_INVALID_PARAMETER", "Payload is described in a way camera doesn't understand"},
    {8, "PL_ERR_BC_INVALID_CAM_SPEED", BUS_TEXT},
    {9, "PL_ERR_BC_NO_MEMORY", "Camera does not have enough resources for transaction"},
    {10, "PL_ERR_BC_LOCK_FAILED", "Camera configuration lock is present"},
    {11, "PL_ERR_BC_CHANNEL_USED", BUS_TEXT},
    {12, "PL_ERR_BC_INVALID_CHANNEL", BUS_TEXT},
    {13, "PL_ERR_BC_NO_ISO_CHANNEL", BUS_TEXT},
    {14, "PL_ERR_BC_NO_ISO_BANDWIDTH", BUS_TEXT},
    {15, "PL_ERR_BC_INVALID_SPEED", BUS_TEXT},
    {16, "PL_ERR_BC_UNKNOWN_ERROR", "Unknown, undocumented, and unexpected error has occurred"},
    {17, "PL_ERR_BC_PROGRAMMING_FAILED", "Upload of payload has failed"},
    {18, "PL_ERR_BC_PARAMETER_PERMISSION", "Parameter permission does not allow that operation"},
    {129, "PL_ERR_BC_PENDING", "Operation is pending"},
    {150, "PL_ERR_UNKNOWN", "Unexpected or unknown error"},
    {151, "PL_ERR_INSTALLATION_CORRUPTED", "PVCAM installation is corrupted"},
    {152, "PL_ERR_INSUFFICIENT_RESOURCES", "Resource allocation failed"},
    {153, "PL_ERR_NULL_POINTER", "Given pointer is not a legal address"},
    {154, "PL_ERR_NOT_AVAILABLE", "Not available"},
    {155, "PL_ERR_NOT_IMPLEMENTED", "Not implemented"},
    {156, "PL_ERR_ACCESS_DENIED", "Access denied"},
    {157, "PL_ERR_LIBRARY_NOT_INITIALIZED", "The initialization hasn't been done yet"},
    {158, "PL_ERR_LIBRARY_ALREADY_INITIALIZED", "The initialization has been already done"},
    {159, "PL_ERR_PARAMETER_UNKNOWN", "Unknown parameter ID"},
    {160, "PL_ERR_PARAMETER_NOT_AVAILABLE", "Parameter unavailable for current device"},
    {161, "PL_ERR_PARAMETER_NOT_ENUM", "Parameter is not an enumeration"},
    {162, "PL_ERR_ATTRIBUTE_UNKNOWN", "Unknown attribute ID"},
    {163, "PL_ERR_ATTRIBUTE_NOT_AVAILABLE", "Attribute unavailable for given parameter"},
    {164, "PL_ERR_VALUE_INVALID", "Invalid value"},
    {165, "PL_ERR_VALUE_OUT_OF_RANGE", "Value is out of range"},
    {166, "PL_ERR_VALUE_SET_FAILED", "The device did not accept new value"},
    {167, "PL_ERR_VALUE_REFUSED_BY_DEVICE", "The device did not accept new value"},
    {168, "PL_ERR_DATA_INVALID", "Invalid data"},
    {169, "PL_ERR_DATA_NOT_AVAILABLE_YET", "No data available yet"},
    {170, "PL_ERR_DATA_PROCESSING_FAILED", "Data processing failed"},
    {171, "PL_ERR_BUFFER_SIZE_INVALID", "Buffer must be integer-multiple of frame size"},
    {172, "PL_ERR_BUFFER_TOO_SMALL", "The buffer is too small"},
    {173, "PL_ERR_BUFFER_OVERRUN", "The buffer is full"},
    {174, "PL_ERR_BUFFER_MALFORMED", "The buffer data is malformed"},
    {175, "PL_ERR_DEVICE_HANDLE_INVALID", "This is not the handle of an open device"},
    {176, "PL_ERR_DEVICE_NAME_UNKNOWN", "This is not a valid name for opening the device"},
    {177, "PL_ERR_DEVICE_NOT_OPEN", "This device is not open yet"},
    {178, "PL_ERR_DEVICE_ALREADY_OPEN", "This device is already open"},
    {179, "PL_ERR_DEVICE_CONFIGURATION_INVALID", "The device provided invalid configuration"},
    {180, "PL_ERR_DEVICE_REMOVED", "The device has been unexpectedly removed"},
    {181, "PL_ERR_REGION_INVALID", "Invalid region"},
    {182, "PL_ERR_BINNING_INVALID", "Invalid binning"},
    {183, "PL_ERR_MODE_INVALID", "Invalid mode"},
    {184, "PL_ERR_STATE_INVALID", "Invalid internal state"},
    {185, "PL_ERR_CONFIGURATION_INVALID", "Invalid configuration"},
    {186, "PL_ERR_INDEX_OUT_OF_RANGE", "Index is out of range"},
    {187, "PL_ERR_EXPOSURE_OUT_OF_RANGE", "Exposure value is out of range"},
    {188, "PL_ERR_ACQUISITION_SETUP_REQUIRED", "The acquisition setup is needed first"},
    {189, "PL_ERR_NO_SPEED_AVAILABLE", "No speed available"},
    {190, "PL_ERR_TOO_MANY_FRAMES", "Too many frames in buffer"},
    {191, "PL_ERR_ZERO_FRAMES", "Zero frames given"},
    {192, "PL_ERR_METADATA_INVALID", "Invalid frame metadata"},
    {193, "PL_ERR_DDI_LIBRARY_INCOMPATIBLE", "Incompatible DDI library, installation corrupted"},
    {194, "PL_ERR_DDI_DRIVER_INITIALIZATION_FAILED", "Driver initialization failed"},
    {195, "PL_ERR_DDI_DEVICE_OPEN_FAILED", "Driver device failed to open"},
    {196, "PL_ERR_DDI_DEVICE_CLOSE_FAILED", "Driver device failed to close"},
    {197, "PL_ERR_DDI_DEVICE_READ_FAILED", "Driver device failed to read data"},
    {198, "PL_ERR_DDI_DEVICE_WRITE_FAILED", "Driver device failed to write data"},
    {199, "PL_ERR_DDI_DEVICE_IOCTL_FAILED", "Driver device IOCTL failed"},
    {200, "PL_ERR_DDI_EVENT_WAIT_FAILED", "Failure while waiting on driver device event"},
    {201, "PL_ERR_DDI_EVENT_RESET_FAILED", "A driver device event reset failed"},
    {202, "PL_ERR_DDI_EVENT_SET_FAILED", "A driver device event set failed"},
    {203, "PL_ERR_DDI_EVENT_WAIT_TIMEOUT", "Waiting on driver device event timed out"},
};

static __thread int16 t_last_error;
static __thread char t_detail[160];

rs_bool sim_fail(int16 code)
{
    t_last_error = code;
    t_detail[0] = '\0';
    return PV_FAIL;
}

rs_bool sim_fail_detail(int16 code, const char *fmt, ...)
{
    va_list ap;
    t_last_error = code;
    va_start(ap, fmt);
    vsnprintf(t_detail, sizeof t_detail, fmt, ap);
    va_end(ap);
    return PV_FAIL;
}

void sim_clear_error(void)
{
    t_last_error = PL_ERR_NONE;
    t_detail[0] = '\0';
}

PV_EXPORT int16 pl_error_code(void)
{
    return t_last_error;
}

PV_EXPORT rs_bool pl_error_message(int16 err_code, char *msg)
{
    if (msg == NULL)
        return PV_FAIL;   /* nowhere to report; the current code is left alone */
    for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++) {
        if (ERRORS[i].code == err_code) {
            if (err_code == t_last_error && t_detail[0] != '\0')
                snprintf(msg, ERROR_MSG_LEN, "%s (%s) - %s", ERRORS[i].text, ERRORS[i].name, t_detail);
            else
                snprintf(msg, ERROR_MSG_LEN, "%s (%s)", ERRORS[i].text, ERRORS[i].name);
            return PV_OK;
        }
    }
    snprintf(msg, ERROR_MSG_LEN, "Unknown error (<UNKNOWN>)");
    return PV_FAIL;
}
