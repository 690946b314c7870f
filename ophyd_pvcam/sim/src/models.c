/*
 * models.c - the four simulated camera models.
 *
 * Facts (sensor size, pixel size, port/speed/gain names, bit depths, line
 * times, setpoint ranges) come from reference section 8 and 10; values marked
 * [infer] are our choices, documented in ../profiles.md.  Line times set the
 * full-frame rate: rate = 1 / (rows * line_time) with zero exposure.
 */
#include <string.h>

#include "sim_internal.h"

/* Prime BSI: default speed is the 16-bit path; S6 measured ~46-47 fps full
 * frame, so its 100 MHz line time is 10.5 us [infer].  The 200 MHz 11-bit
 * speed mirrors the BSI Express table [infer]. */
static const sim_model PRIME_BSI = {
    .key = "prime-bsi",
    .product_name = "Prime BSI",
    .system_name = "PRIME-BSI",
    .chip_name = "GS2020BSI",
    .part_number = "01-PRIME-BSI-M-16-C",
    .serial_fmt = "A19G2040%02d",
    .serial_base = 8,
    .fw_version = 0x0602,
    .interface_type = PL_CAM_IFC_TYPE_USB_3_0,
    .interface_name = "USB 3.0",
    .ser_size = 2048, .par_size = 2048, .pix_size_nm = 6500,
    .temp_min = -2500, .temp_max = 2000, .temp_default = -2000,
    .adc_offset = 100,
    .nports = 1,
    .ports = {{"CMOS", 0, PL_IMAGE_FORMAT_MONO16, 15, 2, {
        {"100 MHz", 10, 10500.0, 2, {{"HDR", 16, 45000}, {"CMS", 12, 1200}}},
        {"200 MHz", 5, 5140.0, 3, {{"Full well", 11, 10000}, {"Balanced", 11, 4500}, {"Sensitivity", 11, 1200}}},
    }}},
    .nbinnings = 3, .binnings = {1, 2, 4},
    .exp_res_default = EXP_RES_ONE_MILLISEC,
    .has_exp_res_seconds = 0,
    .md_version = 2,
    .has_prog_scan = 0,
    .has_smart_stream = 1,
    .has_live_roi = 0,
};

/* Prime BSI Express: table from the third-party wrapper (S9): 200 MHz first
 * (11-bit, 3 gains, 94.5 fps, 5.14 us/line), 100 MHz (HDR 16-bit, CMS 12-bit,
 * 43.5 fps, 11.4 us/line). */
static const sim_model PRIME_BSI_EXPRESS = {
    .key = "prime-bsi-express",
    .product_name = "Prime BSI Express",
    .system_name = "PRIME-BSI-EXPRESS",
    .chip_name = "GS2020BSI",
    .part_number = "01-PRIME-BSI-EXP-M",
    .serial_fmt = "A20K2031%02d",
    .serial_base = 15,
    .fw_version = 0x0710,
    .interface_type = PL_CAM_IFC_TYPE_USB_3_0,
    .interface_name = "USB 3.0",
    .ser_size = 2048, .par_size = 2048, .pix_size_nm = 6500,
    .temp_min = -2000, .temp_max = 2000, .temp_default = -2000,
    .adc_offset = 100,
    .nports = 1,
    .ports = {{"CMOS", 0, PL_IMAGE_FORMAT_MONO16, 15, 2, {
        {"200 MHz", 5, 5140.0, 3, {{"Full well", 11, 10000}, {"Balanced", 11, 4500}, {"Sensitivity", 11, 1200}}},
        {"100 MHz", 10, 11400.0, 2, {{"HDR", 16, 45000}, {"CMS", 12, 1200}}},
    }}},
    .nbinnings = 3, .binnings = {1, 2, 4},
    .exp_res_default = EXP_RES_ONE_MILLISEC,
    .has_exp_res_seconds = 0,
    .md_version = 2,
    .has_prog_scan = 1,
    .has_smart_stream = 1,
    .has_live_roi = 1,
};

/* Kinetix: ports from the PyVCAM dump in S9 (one speed each), line times from
 * the Kinetix manual as quoted there.  Speed names are ours [infer]: the real
 * firmware did not expose PARAM_SPDTAB_NAME. Multiple ROIs only on
 * "Dynamic Range" (S3 example comment).  Opens with EXP_RES in milliseconds,
 * as the vendor's examples assume (see ../profiles.md); seconds are offered. */
static const sim_model KINETIX = {
    .key = "kinetix",
    .product_name = "Kinetix",
    .system_name = "KINETIX",
    .chip_name = "GS3200BSI",
    .part_number = "01-KINETIX-M-C",
    .serial_fmt = "A21D2010%02d",
    .serial_base = 42,
    .fw_version = 0x0214,
    .interface_type = PL_CAM_IFC_TYPE_PCIE_X4,
    .interface_name = "PCIe x4",
    .ser_size = 3200, .par_size = 3200, .pix_size_nm = 6500,
    .temp_min = -1500, .temp_max = 1500, .temp_default = 0,
    .adc_offset = 100,
    .nports = 4,
    .ports = {
        {"Sensitivity", 0, PL_IMAGE_FORMAT_MONO16, 1, 1, {
            {"100 MHz", 10, 3531.25, 1, {{"Standard", 12, 10000}}}}},
        {"Speed", 1, PL_IMAGE_FORMAT_MONO8, 1, 1, {
            {"200 MHz", 5, 625.0, 2, {{"Sensitivity", 8, 200}, {"Full Well", 8, 800}}}}},
        {"Dynamic Range", 2, PL_IMAGE_FORMAT_MONO16, 15, 1, {
            {"100 MHz", 10, 3750.0, 1, {{"Standard", 16, 80000}}}}},
        {"Sub-Electron", 3, PL_IMAGE_FORMAT_MONO16, 1, 1, {
            {"100 MHz", 10, 60100.0, 1, {{"Standard", 16, 60000}}}}},
    },
    .nbinnings = 2, .binnings = {1, 2},
    .exp_res_default = EXP_RES_ONE_MILLISEC,
    .has_exp_res_seconds = 1,
    .md_version = 3,
    .has_prog_scan = 1,
    .has_smart_stream = 1,
    .has_live_roi = 1,
};

/* Prime 95B: 1200x1200, 11 um; ~82 fps 12-bit and ~41 fps 16-bit
 * [unverified vendor figures, section 10]. */
static const sim_model PRIME_95B = {
    .key = "prime-95b",
    .product_name = "Prime 95B",
    .system_name = "PRIME-95B",
    .chip_name = "GS144BSI",
    .part_number = "01-PRIME-95B-R-M-16-C",
    .serial_fmt = "A17B2050%02d",
    .serial_base = 3,
    .fw_version = 0x0405,
    .interface_type = PL_CAM_IFC_TYPE_USB_3_0,
    .interface_name = "USB 3.0",
    .ser_size = 1200, .par_size = 1200, .pix_size_nm = 11000,
    .temp_min = -2500, .temp_max = 2000, .temp_default = -1000,
    .adc_offset = 100,
    .nports = 1,
    .ports = {{"CMOS", 0, PL_IMAGE_FORMAT_MONO16, 15, 2, {
        {"100 MHz", 10, 20300.0, 1, {{"HDR", 16, 80000}}},
        {"200 MHz", 5, 10160.0, 3, {{"Full well", 12, 80000}, {"Balanced", 12, 30000}, {"Sensitivity", 12, 10000}}},
    }}},
    .nbinnings = 3, .binnings = {1, 2, 4},
    .exp_res_default = EXP_RES_ONE_MILLISEC,
    .has_exp_res_seconds = 0,
    .md_version = 1,
    .has_prog_scan = 1,
    .has_smart_stream = 1,
    .has_live_roi = 0,
};

const sim_model *const sim_models[] = {&PRIME_BSI, &PRIME_BSI_EXPRESS, &KINETIX, &PRIME_95B};
const int sim_model_count = (int)(sizeof sim_models / sizeof sim_models[0]);

const sim_model *sim_find_model(const char *key, size_t len)
{
    for (int i = 0; i < sim_model_count; i++) {
        if (strlen(sim_models[i]->key) == len && strncmp(sim_models[i]->key, key, len) == 0)
            return sim_models[i];
    }
    return NULL;
}
