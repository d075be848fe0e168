// liblz4 (Debian liblz4-dev): the LZ4 frame format, which Kafka's lz4 codec writes.
#include <lz4frame.h>
