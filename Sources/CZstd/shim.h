// libzstd (Debian libzstd-dev), built with multithreading support.
#include <zstd.h>
#include <zstd_errors.h>
