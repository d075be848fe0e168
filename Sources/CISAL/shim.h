// Intel ISA-L (Debian libisal-dev): CRC-32C with SSE4.2 + PCLMUL folding, and a
// portable fallback chosen at run time by the library's own CPU dispatch; and
// igzip's inflate (with gzip header and CRC-32/ISIZE trailer checks), for
// Kafka's gzip codec.
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
