// Intel ISA-L (Debian libisal-dev): CRC-32C with SSE4.2 + PCLMUL folding, and a
// portable fallback chosen at run time by the library's own CPU dispatch.
#include <isa-l/crc.h>
