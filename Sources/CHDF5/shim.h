// HDF5's C API for Swift.
//
// H5T_NATIVE_*, H5P_*, H5F_ACC_* and H5S_ALL are C macros that Swift does not import; many of them expand to
// `_g` globals that are -1 until H5open() runs and that Swift 6 concurrency checking refuses as shared mutable
// state. Each is exposed here as a `static inline` function that calls H5open() first (cheap after the first call).
#ifndef STRATA_CHDF5_SHIM_H
#define STRATA_CHDF5_SHIM_H
#include <hdf5.h>

static inline hid_t strata_h5t_native_uint8(void)  { H5open(); return H5T_NATIVE_UINT8; }
static inline hid_t strata_h5t_native_int8(void)   { H5open(); return H5T_NATIVE_INT8; }
static inline hid_t strata_h5t_native_uint16(void) { H5open(); return H5T_NATIVE_UINT16; }
static inline hid_t strata_h5t_native_int16(void)  { H5open(); return H5T_NATIVE_INT16; }
static inline hid_t strata_h5t_native_uint32(void) { H5open(); return H5T_NATIVE_UINT32; }
static inline hid_t strata_h5t_native_int32(void)  { H5open(); return H5T_NATIVE_INT32; }
static inline hid_t strata_h5t_native_int64(void)  { H5open(); return H5T_NATIVE_INT64; }
static inline hid_t strata_h5t_native_float(void)  { H5open(); return H5T_NATIVE_FLOAT; }
static inline hid_t strata_h5t_native_double(void) { H5open(); return H5T_NATIVE_DOUBLE; }
static inline hid_t strata_h5t_c_s1(void)          { H5open(); return H5T_C_S1; }
static inline hid_t strata_h5t_ieee_f16le_copy(void) {
    // HDF5 1.10 has no predefined half type: derive IEEE binary16 from a float copy.
    H5open();
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}
static inline hid_t strata_h5p_dataset_create(void) { H5open(); return H5P_DATASET_CREATE; }
static inline hid_t strata_h5p_file_access(void)    { H5open(); return H5P_FILE_ACCESS; }
static inline hid_t strata_h5p_link_create(void)    { H5open(); return H5P_LINK_CREATE; }
static inline hid_t strata_h5p_default(void)        { return H5P_DEFAULT; }
static inline hid_t strata_h5s_all(void)            { return H5S_ALL; }
static inline unsigned strata_h5f_acc_rdonly(void)  { return H5F_ACC_RDONLY; }
static inline unsigned strata_h5f_acc_rdwr(void)    { return H5F_ACC_RDWR; }
static inline unsigned strata_h5f_acc_trunc(void)   { return H5F_ACC_TRUNC; }
static inline unsigned strata_h5f_acc_excl(void)    { return H5F_ACC_EXCL; }
static inline H5Z_filter_t strata_h5z_filter_deflate(void) { return H5Z_FILTER_DEFLATE; }
static inline H5Z_filter_t strata_h5z_filter_shuffle(void) { return H5Z_FILTER_SHUFFLE; }
static inline size_t strata_h5t_variable(void)     { return H5T_VARIABLE; }

/// Silences HDF5's default error stack printing; Strata reports its own errors with the file name.
static inline void strata_h5_silence_errors(void) { H5open(); H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
