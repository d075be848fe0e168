#!/usr/bin/env python3
"""The independent Kafka client of sluice's cluster tests: librdkafka, through the
confluent-kafka wheel in the venv `make test-tools` makes (.test-tools/venv).

The Swift tests run it through `IndependentClient` (Tests/TestSupport/TestBroker.swift):
JSON in, JSON out, one subcommand per job. Whatever sluice writes to a broker is read back
with this, and whatever this writes sluice must read: an implementation of the protocol
that shares no code with sluice's.

    produce        --bootstrap B --topic T [--partitions N] [--compression C] [--transactional commit|abort|open]
                   [--idempotent] [--acks A]
                   stdin: JSON lines {"key","value","headers","timestamp","partition"}
                   stdout: {"records","delivered":[{"partition","offset"}...],"errors":[...]}
    consume        --bootstrap B --topic T [--isolation read_committed|read_uncommitted] [--expect N] [--timeout S]
                   stdout: one JSON line per record {"partition","offset","key","value","headers","timestamp",
                   "timestamp_type"}
    describe-topic --bootstrap B --topic T          stdout: {"topic","partitions":[...],"configs":{...}}
    create-topic   --bootstrap B --topic T [--partitions N] [--replication-factor R] [--config K=V ...]
    delete-topic   --bootstrap B --topic T
    version        stdout: {"confluent_kafka","librdkafka"}

Keys, values and header values are UTF-8 strings or null; bytes that are not UTF-8 are
written as "key_base64"/"value_base64" (and headers as [k, null, base64] triples), and
accepted so on input. Headers go in as an object {"k": "v"} or a list of [k, v] pairs
(order and duplicates kept); they come out as a list of [k, v] pairs.

Exit status: 0 on success; 1 when the job failed (a delivery failed, fewer than --expect
records arrived in time, the broker refused); 2 on bad usage. Errors go to stderr.

Tansu 0.6.0 notes (see ../shared/kafka-protocol/README.md, "Test bed on these machines"):
- ListOffsets "latest" is wrong on Tansu (last batch's base offset + 1). librdkafka does
  not need it here: the consumer starts at offset 0 (falling back to ListOffsets
  earliest, which is right) and learns the end from Fetch's high watermark, which is right.
- A Fetch with max_wait_ms 0 returns no records on Tansu; librdkafka waits
  fetch.wait.max.ms (500 ms by default; 100 here), so it is not affected.
- CreatePartitions, AlterConfigs, OffsetDelete and DeleteRecords close the connection (or
  panic the broker's connection task): this client never sends them.
- DescribeConfigs returns only explicitly set keys.
- Metadata with allow_auto_topic_creation true creates the topic asked about (with 4
  partitions), and librdkafka's AdminClient always asks so (it is a producer handle):
  topic lookups here go through a consumer handle (allow.auto.create.topics false), so
  describe-topic and consume never create a topic.
- read_committed: Tansu answers Fetch with the right last stable offset (an open
  transaction's records stay hidden) but an empty aborted_transactions list, so a
  read_committed consumer is handed the records of aborted transactions too (measured
  2026-12-02, Fetch v4 by hand and librdkafka's own version). librdkafka's mock cluster
  (test.mock.num.brokers) does the same. No broker here filters aborted records.
- Transaction markers take an offset each, as on Kafka: a committed or aborted
  transaction leaves a gap in the offsets a consumer sees.
"""

import argparse
import base64
import json
import os
import sys
import time
import uuid

from confluent_kafka import (
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

try:  # confluent-kafka >= 2.3
    from confluent_kafka import TopicCollection
except ImportError:  # pragma: no cover
    TopicCollection = None

ADMIN_TIMEOUT = 15.0


def fail(message, status=1):
    print(f"peer.py: {message}", file=sys.stderr)
    sys.exit(status)


def common(bootstrap):
    return {
        "bootstrap.servers": bootstrap,
        # One broker on loopback: find out fast when it is gone rather than retry for minutes.
        "socket.timeout.ms": 10000,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "topic.metadata.refresh.interval.ms": 1000,
        "log_level": 3,
    }


# MARK: - bytes <-> JSON


def to_bytes(record, name):
    """`name` ("key" or "value") of an input record as bytes or None."""
    if name + "_base64" in record:
        encoded = record[name + "_base64"]
        return None if encoded is None else base64.b64decode(encoded)
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        fail(f"{name} must be a string or null, not {json.dumps(value)}", 2)
    return value.encode("utf-8")


def put_bytes(out, name, data):
    """Sets out[name] to the UTF-8 text of `data`, or out[name_base64] when it is not UTF-8."""
    if data is None:
        out[name] = None
        return
    try:
        out[name] = data.decode("utf-8")
    except UnicodeDecodeError:
        out[name + "_base64"] = base64.b64encode(data).decode("ascii")


def input_headers(headers):
    """A record's headers as librdkafka wants them: a list of (key, bytes or None)."""
    if headers is None:
        return None
    if isinstance(headers, dict):
        pairs = list(headers.items())
    elif isinstance(headers, list):
        pairs = headers
    else:
        fail(f"headers must be an object or a list of [key, value] pairs, not {json.dumps(headers)}", 2)
    result = []
    for pair in pairs:
        if isinstance(pair, (list, tuple)) and len(pair) == 3 and pair[1] is None:
            result.append((pair[0], base64.b64decode(pair[2])))
            continue
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            fail(f"a header must be a [key, value] pair, not {json.dumps(pair)}", 2)
        key, value = pair
        result.append((key, None if value is None else value.encode("utf-8")))
    return result


def output_headers(headers):
    result = []
    for key, value in headers or []:
        if value is None:
            result.append([key, None])
            continue
        try:
            result.append([key, value.decode("utf-8")])
        except UnicodeDecodeError:
            result.append([key, None, base64.b64encode(value).decode("ascii")])
    return result


# MARK: - admin


def admin(bootstrap):
    return AdminClient(common(bootstrap))


def metadata_consumer(bootstrap):
    config = common(bootstrap)
    config.update({"group.id": "sluice-test-peer-metadata", "allow.auto.create.topics": False})
    return Consumer(config)


def topic_metadata(bootstrap, topic, consumer=None):
    """Metadata of `topic` (None if the broker does not know it), without creating it.

    Through a consumer handle: librdkafka's AdminClient (a producer handle) sends Metadata
    with allow_auto_topic_creation true, and Tansu honours that flag, creating any topic
    asked about (with 4 partitions). A consumer with allow.auto.create.topics false
    (its default) asks without creating it.
    """
    handle = consumer or metadata_consumer(bootstrap)
    try:
        metadata = handle.list_topics(topic, timeout=ADMIN_TIMEOUT).topics.get(topic)
    finally:
        if consumer is None:
            handle.close()
    if metadata is not None and metadata.error is not None and metadata.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
        return None
    return metadata


def create_topic(bootstrap, topic, partitions, replication_factor=1, configs=None, exist_ok=False):
    client = admin(bootstrap)  # kept: a collected client fails its futures with _DESTROY
    futures = client.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=replication_factor, config=configs or {})],
        operation_timeout=ADMIN_TIMEOUT,
        request_timeout=ADMIN_TIMEOUT,
    )
    try:
        futures[topic].result(timeout=ADMIN_TIMEOUT)
    except KafkaException as error:
        code = error.args[0].code() if error.args and isinstance(error.args[0], KafkaError) else None
        if not (exist_ok and code == KafkaError.TOPIC_ALREADY_EXISTS):
            fail(f"cannot create topic {topic}: {error}")
    wait_for_topic(bootstrap, topic, partitions)


def wait_for_topic(bootstrap, topic, partitions, seconds=10.0):
    """Waits until metadata shows `topic` with `partitions` partitions, each with a leader."""
    deadline = time.monotonic() + seconds
    consumer = metadata_consumer(bootstrap)
    try:
        while True:
            metadata = topic_metadata(bootstrap, topic, consumer)
            if (
                metadata is not None
                and metadata.error is None
                and len(metadata.partitions) >= partitions
                and all(p.leader >= 0 for p in metadata.partitions.values())
            ):
                return metadata
            if time.monotonic() > deadline:
                state = "unknown to the broker" if metadata is None else f"{len(metadata.partitions)} partitions, error {metadata.error}"
                fail(f"topic {topic} did not appear with {partitions} partitions within {seconds} s ({state})")
            time.sleep(0.05)
    finally:
        consumer.close()


def command_create_topic(args):
    configs = {}
    for item in args.config or []:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"--config wants KEY=VALUE, not {item!r}", 2)
        configs[key] = value
    create_topic(args.bootstrap, args.topic, args.partitions, args.replication_factor, configs)
    print(json.dumps({"topic": args.topic, "partitions": args.partitions, "created": True}))


def command_delete_topic(args):
    client = admin(args.bootstrap)  # kept: a collected client fails its futures with _DESTROY
    futures = client.delete_topics([args.topic], operation_timeout=ADMIN_TIMEOUT, request_timeout=ADMIN_TIMEOUT)
    try:
        futures[args.topic].result(timeout=ADMIN_TIMEOUT)
    except KafkaException as error:
        fail(f"cannot delete topic {args.topic}: {error}")
    print(json.dumps({"topic": args.topic, "deleted": True}))


def command_describe_topic(args):
    # Metadata first: describe_topics (KIP-430, Metadata with topic ids) is newer than the
    # rest; Metadata works with every broker and gives leader, replicas and ISR too.
    metadata = topic_metadata(args.bootstrap, args.topic)
    if metadata is None or metadata.error is not None:
        error = metadata.error if metadata is not None else "no such topic"
        fail(f"cannot describe topic {args.topic}: {error}")
    partitions = [
        {"partition": p.id, "leader": p.leader, "replicas": list(p.replicas), "isr": list(p.isrs)}
        for p in sorted(metadata.partitions.values(), key=lambda p: p.id)
    ]
    result = {"topic": args.topic, "partitions": partitions}
    client = admin(args.bootstrap)
    if TopicCollection is not None:
        try:
            described = client.describe_topics(TopicCollection([args.topic]), request_timeout=ADMIN_TIMEOUT)
            description = described[args.topic].result(timeout=ADMIN_TIMEOUT)
            if description.topic_id is not None:
                result["topic_id"] = str(description.topic_id)
            result["internal"] = description.is_internal
        except KafkaException as error:
            result["describe_topics_error"] = str(error)
    resource = ConfigResource(ConfigResource.Type.TOPIC, args.topic)
    try:
        entries = client.describe_configs([resource], request_timeout=ADMIN_TIMEOUT)[resource].result(timeout=ADMIN_TIMEOUT)
        result["configs"] = {name: entry.value for name, entry in sorted(entries.items())}
    except KafkaException as error:
        result["configs"] = None
        result["configs_error"] = str(error)
    print(json.dumps(result))


# MARK: - produce


def command_produce(args):
    if args.partitions is not None:
        create_topic(args.bootstrap, args.topic, args.partitions, exist_ok=True)
    records = []
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            fail(f"stdin line {number} is not JSON: {error}", 2)
        if not isinstance(record, dict):
            fail(f"stdin line {number} is not a JSON object", 2)
        records.append(record)

    config = common(args.bootstrap)
    config.update(
        {
            "compression.type": args.compression,
            "acks": args.acks,
            # Java's partitioner (murmur2 of the key; random for null keys), which sluice
            # follows; librdkafka's own default is consistent_random (CRC-32).
            "partitioner": "murmur2_random",
            "linger.ms": 5,
            "message.timeout.ms": 30000,
        }
    )
    if args.idempotent:
        config["enable.idempotence"] = True
    if args.transactional:
        config["transactional.id"] = f"sluice-test-peer-{uuid.uuid4()}"
        config["transaction.timeout.ms"] = 60000
    producer = Producer(config)

    delivered = [None] * len(records)
    errors = []

    def report(index):
        def callback(error, message):
            if error is not None:
                errors.append({"record": index, "error": str(error)})
            else:
                delivered[index] = {"partition": message.partition(), "offset": message.offset()}

        return callback

    if args.transactional:
        producer.init_transactions(ADMIN_TIMEOUT)
        producer.begin_transaction()
    for index, record in enumerate(records):
        options = {"key": to_bytes(record, "key"), "value": to_bytes(record, "value"), "on_delivery": report(index)}
        headers = input_headers(record.get("headers"))
        if headers:
            options["headers"] = headers
        if record.get("timestamp") is not None:
            options["timestamp"] = int(record["timestamp"])
        if record.get("partition") is not None:
            options["partition"] = int(record["partition"])
        while True:
            try:
                producer.produce(args.topic, **options)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(30)
    if remaining:
        errors.append({"error": f"{remaining} records still undelivered after 30 s"})
    if args.transactional == "open" and not errors:
        # A producer that dies inside its transaction: os._exit skips librdkafka's
        # destructor, so nothing ends the transaction; the broker keeps it open
        # (until transaction.timeout.ms on Kafka; Tansu 0.6.0 had not aborted one 8 s
        # after a 2 s transaction.timeout.ms: its LSO stayed before the open records).
        print(json.dumps({"topic": args.topic, "records": len(records), "delivered": delivered, "errors": [], "transaction": "open"}))
        sys.stdout.flush()
        os._exit(0)
    if args.transactional:
        try:
            if errors or args.transactional != "commit":
                producer.abort_transaction(ADMIN_TIMEOUT)
            else:
                producer.commit_transaction(ADMIN_TIMEOUT)
        except KafkaException as error:
            errors.append({"error": f"{args.transactional} transaction: {error}"})
    summary = {"topic": args.topic, "records": len(records), "delivered": delivered, "errors": errors}
    if args.transactional:
        summary["transaction"] = args.transactional
    print(json.dumps(summary))
    if errors:
        fail(f"{len(errors)} deliveries failed, the first: {errors[0]['error']}")


# MARK: - consume


def command_consume(args):
    metadata = wait_for_topic(args.bootstrap, args.topic, 1, min(args.timeout, 10.0))
    partitions = sorted(metadata.partitions)
    config = common(args.bootstrap)
    config.update(
        {
            # assign() needs no group, but librdkafka wants a group.id; nothing is committed.
            "group.id": f"sluice-test-peer-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": args.isolation,
            "enable.partition.eof": True,
            # Offset 0, else the earliest: see assign() below.
            "auto.offset.reset": "earliest",
            # Never 0: a Fetch with max_wait_ms 0 returns nothing on Tansu.
            "fetch.wait.max.ms": 100,
        }
    )
    consumer = Consumer(config)
    # From offset 0 rather than OFFSET_BEGINNING: the latter costs a ListOffsets that
    # librdkafka sends only on its offset-query timer, 500 ms after assign. Where the log
    # no longer starts at 0 the Fetch answers OFFSET_OUT_OF_RANGE and auto.offset.reset
    # (earliest) moves to the log start, so both read every partition from its beginning.
    consumer.assign([TopicPartition(args.topic, p, 0) for p in partitions])
    deadline = time.monotonic() + args.timeout
    count = 0
    at_end = set()
    try:
        while args.expect is None or count < args.expect:
            # Without --expect: every partition at its end (a Fetch's high watermark; its last
            # stable offset under read_committed).
            if args.expect is None and at_end >= set(partitions):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                if args.expect is not None:
                    fail(f"only {count} of {args.expect} records arrived within {args.timeout} s")
                fail(f"partitions {sorted(set(partitions) - at_end)} did not reach their end within {args.timeout} s")
            message = consumer.poll(min(left, 0.5))
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition())
                    continue
                if error.retriable() or not error.fatal():
                    print(f"peer.py: (consume, continuing) {error}", file=sys.stderr)
                    continue
                fail(f"consume: {error}")
            at_end.discard(message.partition())
            kind, timestamp = message.timestamp()
            out = {"partition": message.partition(), "offset": message.offset()}
            put_bytes(out, "key", message.key())
            put_bytes(out, "value", message.value())
            out["headers"] = output_headers(message.headers())
            out["timestamp"] = timestamp
            out["timestamp_type"] = {TIMESTAMP_CREATE_TIME: "create", TIMESTAMP_LOG_APPEND_TIME: "log_append"}.get(kind)
            sys.stdout.write(json.dumps(out) + "\n")
            count += 1
    finally:
        sys.stdout.flush()
        consumer.close()


def command_version(_args):
    import confluent_kafka

    print(json.dumps({"confluent_kafka": confluent_kafka.version()[0], "librdkafka": confluent_kafka.libversion()[0]}))


def main():
    parser = argparse.ArgumentParser(prog="peer.py", description="librdkafka, for sluice's cluster tests")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_topic(name, help_text):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--bootstrap", required=True)
        command.add_argument("--topic", required=True)
        return command

    produce = with_topic("produce", "produce JSON lines from stdin")
    produce.add_argument("--partitions", type=int, help="create the topic with N partitions first (if it does not exist)")
    produce.add_argument("--compression", default="none", choices=["none", "gzip", "snappy", "lz4", "zstd"])
    produce.add_argument(
        "--transactional", choices=["commit", "abort", "open"], help="open: leave the transaction open (exit without ending it)"
    )
    produce.add_argument("--idempotent", action="store_true")
    produce.add_argument("--acks", default="all", choices=["0", "1", "all", "-1"])
    produce.set_defaults(run=command_produce)

    consume = with_topic("consume", "print every partition's records from the beginning")
    consume.add_argument("--isolation", default="read_uncommitted", choices=["read_committed", "read_uncommitted"])
    consume.add_argument("--expect", type=int, help="stop after N records (default: at the end of every partition)")
    consume.add_argument("--timeout", type=float, default=20.0, help="seconds (default 20)")
    consume.set_defaults(run=command_consume)

    describe = with_topic("describe-topic", "partitions (leader, replicas, ISR) and configs")
    describe.set_defaults(run=command_describe_topic)

    create = with_topic("create-topic", "create a topic")
    create.add_argument("--partitions", type=int, default=1)
    create.add_argument("--replication-factor", type=int, default=1)
    create.add_argument("--config", action="append", metavar="KEY=VALUE")
    create.set_defaults(run=command_create_topic)

    delete = with_topic("delete-topic", "delete a topic")
    delete.set_defaults(run=command_delete_topic)

    version = commands.add_parser("version", help="confluent-kafka and librdkafka versions")
    version.set_defaults(run=command_version)

    args = parser.parse_args()
    try:
        args.run(args)
    except KafkaException as error:
        fail(f"{args.command}: {error}")


if __name__ == "__main__":
    main()
