// libsnappy (Debian libsnappy-dev) through its C API; the library itself is C++,
// and its shared object brings in the C++ runtime it needs.
#include <snappy-c.h>
