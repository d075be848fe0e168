"""Encodes sluice's spoken messages with kafka-python, an independent encoder
(KafkaProtocolTests compares sluice's codecs against it): every field present at
a version is set to a distinct, non-default value, so a field sluice reads in
the wrong place, with the wrong type or nullability, or misses, shows up as a
decoding error or different bytes. Prints one JSON line per message and version.
"""
import importlib
import itertools
import json
import pkgutil
import sys
import uuid

import kafka.protocol

counter = itertools.count(1)


def flag(attribute):
    return attribute() if callable(attribute) else attribute


def value(field, version, parent):
    n = next(counter)
    t = field.type_str
    if flag(field.is_struct_array):
        return [build(nested(field, parent), version) for _ in range(2)]
    if flag(field.is_struct):
        return build(nested(field, parent), version)
    if flag(field.is_array):
        inner = t[2:]
        return [scalar(inner, n), scalar(inner, n + 1)]
    return scalar(t, n)


def nested(field, parent):
    data_class = getattr(field, "data_class", None)
    return data_class if data_class is not None else getattr(parent, field.type_str.lstrip("[]"))


def scalar(t, n):
    return {
        "int8": lambda: n % 100,
        "int16": lambda: 300 + n,
        "uint16": lambda: 300 + n,
        "int32": lambda: 70000 + n,
        "uint32": lambda: 70000 + n,
        "int64": lambda: (1 << 40) + n,
        "float64": lambda: n + 0.5,
        "bool": lambda: True,
        "string": lambda: f"s{n}",
        "bytes": lambda: bytes([n % 256, 1, 2]),
        "records": lambda: bytes([n % 256, 9, 9, 9]),
        "uuid": lambda: uuid.UUID(int=(n << 64) | n),
        # kafka-python's type for the int32 authorized-operations fields: a set of bits.
        "bitfield": lambda: {n % 31, 2},
    }[t]()


def build(cls, version):
    kwargs = {}
    for field in cls._struct._fields:
        if field.for_version_q(version):
            kwargs[field.underscore_name(field.name)] = value(field, version, cls)
    return cls(**kwargs)


def message_classes():
    for module in pkgutil.walk_packages(kafka.protocol.__path__, "kafka.protocol."):
        try:
            mod = importlib.import_module(module.name)
        except Exception:
            continue
        for name in dir(mod):
            yield name, getattr(mod, name)


def main():
    wanted = json.loads(sys.argv[1])  # {"MetadataRequest": [7, 12], ...}
    found = {}
    for name, cls in message_classes():
        if name in wanted and hasattr(cls, "_struct"):
            found[name] = cls
    for name, (lo, hi) in sorted(wanted.items()):
        cls = found.get(name)
        if cls is None:
            print(json.dumps({"message": name, "missing": True}))
            continue
        for version in range(lo, hi + 1):
            try:
                data = build(cls, version).encode(version=version)
            except Exception as error:
                print(json.dumps({"message": name, "version": version, "error": repr(error)}))
                continue
            print(json.dumps({"message": name, "version": version, "hex": bytes(data).hex()}))


main()
