// GDAL's C API (gdal.h, cpl_conv.h, ogr_srs_api.h, gdalwarper.h, gdal_utils.h) for Swift.
#ifndef STRATA_CGDAL_SHIM_H
#define STRATA_CGDAL_SHIM_H
#include <gdal.h>
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <ogr_srs_api.h>
#include <gdalwarper.h>
#include <gdal_utils.h>
#endif
