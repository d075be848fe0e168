#!/usr/bin/env python3
"""Generates sluice's Kafka message codecs (Sources/KafkaProtocol/Messages/) from
Kafka's own message schemas (apache/kafka clients/.../common/message/*.json).

    python3 Tools/generate-protocol.py SCHEMA_DIR OUTPUT_DIR

Every field of every version sluice speaks is encoded and decoded in schema
order, with its nullability and its tag, so the codecs are the schemas. The
output is committed (sluice builds without the schemas); `make check-generated`
regenerates it from ../shared/kafka-protocol/messages and fails on a difference.
Only facts are taken from the schemas: names, types, versions and defaults.
"""
import json
import os
import re
import sys

# The versions sluice speaks, per API: at least the version every Kafka 2.1-4.x
# broker has (docs/PROTOCOL.md), up to the newest sluice implements.
# ApiVersions negotiation picks the highest that both sides support.
SPOKEN = {
    "Produce": (7, 9),
    "Fetch": (10, 12),  # v13+ name topics by id
    "ListOffsets": (4, 8),
    "Metadata": (7, 12),
    "OffsetCommit": (6, 8),
    "OffsetFetch": (5, 8),
    "FindCoordinator": (2, 4),
    "JoinGroup": (3, 9),
    "Heartbeat": (2, 4),
    "LeaveGroup": (2, 5),
    "SyncGroup": (2, 5),
    "DescribeGroups": (2, 5),
    "ListGroups": (2, 4),
    "SaslHandshake": (1, 1),
    "ApiVersions": (0, 3),
    "CreateTopics": (3, 7),
    "DeleteTopics": (3, 6),
    "DeleteRecords": (1, 2),
    "InitProducerId": (1, 4),  # Tansu answers v0-v2 with UNKNOWN_SERVER_ERROR
    "DescribeConfigs": (2, 4),
    "AlterConfigs": (1, 2),
    "DescribeLogDirs": (1, 4),
    "SaslAuthenticate": (1, 2),
    "CreatePartitions": (1, 3),
    "DeleteGroups": (1, 2),
    "IncrementalAlterConfigs": (0, 1),
    "OffsetDelete": (0, 0),
    "DescribeCluster": (0, 1),
    "ConsumerGroupDescribe": (0, 0),
}
# Embedded data structures (no API key): the consumer protocol's member metadata.
DATA = {"ConsumerProtocolSubscription": (0, 3), "ConsumerProtocolAssignment": (0, 3)}


def load(path):
    text = open(path).read()
    return json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.M))


class Versions:
    """A schema version range: "3+", "1-4", "5", "none"."""

    def __init__(self, spec):
        if spec is None or spec == "none":
            self.lo, self.hi = None, None
        elif spec.endswith("+"):
            self.lo, self.hi = int(spec[:-1]), 32767
        elif "-" in spec:
            lo, hi = spec.split("-")
            self.lo, self.hi = int(lo), int(hi)
        else:
            self.lo = self.hi = int(spec)

    def contains(self, v):
        return self.lo is not None and self.lo <= v <= self.hi

    def within(self, lo, hi):
        """The versions of this range in lo...hi, as a Swift condition on `version`."""
        if self.lo is None or self.hi < lo or self.lo > hi:
            return "false"
        a, b = max(self.lo, lo), min(self.hi, hi)
        if a == lo and b == hi:
            return "true"
        if a == lo:
            return f"version <= {b}"
        if b == hi:
            return f"version >= {a}"
        if a == b:
            return f"version == {a}"
        return f"({a}...{b}).contains(version)"


def conj(a, b):
    """a && b for Swift conditions, folding the constants."""
    if a == "false" or b == "false":
        return "false"
    if a == "true" or a == b:
        return b
    if b == "true":
        return a
    return f"({a}) && ({b})"


def negate(a):
    return {"true": "false", "false": "true"}.get(a, f"!({a})")


# Swift keywords that are also Kafka field names, in lowerCamel.
KEYWORDS = {"protocol", "internal", "default", "operator", "repeat", "extension", "self"}


def camel(name):
    """Kafka's UpperCamel field name ("ThrottleTimeMs") as a Swift property."""
    out = name.lower() if name.isupper() else name[0].lower() + name[1:]
    return f"`{out}`" if out in KEYWORDS else out


PRIMITIVE = {
    "int8": ("Int8", "0", "Int8"),
    "int16": ("Int16", "0", "Int16"),
    "int32": ("Int32", "0", "Int32"),
    "int64": ("Int64", "0", "Int64"),
    "uint16": ("UInt16", "0", "UInt16"),
    "uint32": ("UInt32", "0", "UInt32"),
    "float64": ("Double", "0", "Float64"),
    "bool": ("Bool", "false", "Bool"),
    "uuid": ("KafkaUUID", ".zero", "UUID"),
}


class Gen:
    def __init__(self, schema, lo, hi):
        self.schema = schema
        self.lo, self.hi = lo, hi
        self.flex = Versions(schema["flexibleVersions"])
        self.structs = {}  # name -> fields, in first-seen order
        for s in schema.get("commonStructs", []):
            self.structs[s["name"]] = s["fields"]
        self.collect(schema["fields"])

    def collect(self, fields):
        for f in fields:
            if "fields" in f:
                self.structs[self.element(f["type"])] = f["fields"]
                self.collect(f["fields"])

    @staticmethod
    def element(t):
        return t[2:] if t.startswith("[]") else t

    def present(self, f):
        return Versions(f["versions"]).within(self.lo, self.hi) != "false"

    def swift_type(self, f):
        t = f["type"]
        nullable = Versions(f.get("nullableVersions")).within(self.lo, self.hi) != "false"
        if t.startswith("[]"):
            e = self.element(t)
            base = "[" + (PRIMITIVE[e][0] if e in PRIMITIVE else "String" if e == "string" else e) + "]"
        elif t in PRIMITIVE:
            base = PRIMITIVE[t][0]
        elif t == "string":
            base = "String"
        elif t in ("bytes", "records"):
            base = "ArraySlice<UInt8>"
        else:
            if nullable:
                sys.exit(f"{self.schema['name']}.{f['name']}: nullable structs are not supported")
            base = t
        return base + ("?" if nullable or t == "records" else ""), nullable or t == "records"

    def default(self, f):
        t = f["type"]
        swift, optional = self.swift_type(f)
        d = f.get("default")
        d = str(d).lower() if isinstance(d, (int, bool)) else d
        if d == "null":
            return "nil"
        if t.startswith("[]"):
            return "[]"
        if t in PRIMITIVE:
            if d is None:
                return PRIMITIVE[t][1]
            if t == "bool":
                return d
            return str(int(d, 16)) if d.startswith("0x") else d
        if t == "string":
            return json.dumps(d if d is not None else "")
        if t in ("bytes", "records"):
            return "nil" if optional else "[]"
        return t + "()"

    # -- encoding -------------------------------------------------------------

    def write_value(self, t, expr, flex):
        """A Swift statement writing one value of schema type t."""
        if t.startswith("[]"):
            e = self.element(t)
            inner = self.write_value(e, "element", flex).replace("writer.", "w.").replace("&writer", "&w")
            return f"writer.writeArray({expr}, flexible: {flex}) {{ w, element in {inner} }}"
        if t in PRIMITIVE:
            return f"writer.write{PRIMITIVE[t][2]}({expr})"
        if t == "string":
            return f"writer.writeString({expr}, flexible: {flex})"
        if t in ("bytes", "records"):
            return f"writer.writeBytes({expr}, flexible: {flex})"
        return f"{expr}.encode(into: &writer, version: version)"

    def read_value(self, t, nullable, flex):
        if t.startswith("[]"):
            e = self.element(t)
            inner = self.read_value(e, False, flex).replace("reader.", "r.").replace("&reader", "&r")
            fn = "readNullableArray" if nullable else "readArray"
            return f"try reader.{fn}(flexible: {flex}) {{ (r: inout ProtocolReader) throws(ProtocolDecodingError) in {inner} }}"
        if t in PRIMITIVE:
            return f"try reader.read{PRIMITIVE[t][2]}()"
        if t == "string":
            return f"try reader.read{'Nullable' if nullable else ''}String(flexible: {flex})"
        if t in ("bytes", "records"):
            return f"try reader.read{'Nullable' if nullable or t == 'records' else ''}Bytes(flexible: {flex})"
        return f"try {t}(from: &reader, version: version)"

    def struct_body(self, name, fields, indent, conforms):
        pad = " " * indent
        out = []
        live = [f for f in fields if self.present(f)]
        out.append(f"{pad}public struct {name}: {conforms} {{")
        for f in live:
            swift, _ = self.swift_type(f)
            out.append(f"{pad}    public var {camel(f['name'])}: {swift} = {self.default(f)}")
        out.append(f"{pad}    public init() {{}}")
        out.append("")
        out += self.fold_flexible(self.encoder(live, indent + 4))
        out.append("")
        out += self.fold_flexible(self.decoder(live, indent + 4))
        return out

    def flex_expr(self):
        return self.flex.within(self.lo, self.hi)

    def fold_flexible(self, lines):
        """Where every spoken version is flexible (or none is), says so as a constant."""
        flex = self.flex_expr()
        if flex not in ("true", "false"):
            return lines
        return [l.replace("flexible: flexible", f"flexible: {flex}") for l in lines if "let flexible" not in l]

    def encoder(self, fields, indent):
        pad = " " * indent
        out = [f"{pad}public func encode(into writer: inout ProtocolWriter, version: Int16) {{"]
        out.append(f"{pad}    let flexible = {self.flex_expr()}")
        tagged = []
        for f in fields:
            name = camel(f["name"])
            present = Versions(f["versions"]).within(self.lo, self.hi)
            tv = Versions(f.get("taggedVersions")).within(self.lo, self.hi)
            if tv != "false":
                tagged.append((f, conj(present, tv)))
            inline = conj(present, negate(tv))
            if inline == "false":
                continue
            stmt = self.write_value(f["type"], name, "flexible")
            out.append(f"{pad}    {stmt}" if inline == "true" else f"{pad}    if {inline} {{ {stmt} }}")
        if self.flex_expr() == "false":
            return out + [f"{pad}}}"]
        if self.flex_expr() != "true":
            out.append(f"{pad}    guard flexible else {{ return }}")
        if not tagged:
            return out + [f"{pad}    writer.writeTaggedFields([])", f"{pad}}}"]
        out.append(f"{pad}    var tagged: [(tag: UInt32, write: (inout ProtocolWriter) -> Void)] = []")
        for f, cond in tagged:
            name = camel(f["name"])
            stmt = self.write_value(f["type"], name, "true")
            cond = conj(cond, f"{name} != {self.default(f)}")
            out.append(f"{pad}    if {cond} {{ tagged.append(({f['tag']}, {{ writer in {stmt} }})) }}")
        out.append(f"{pad}    writer.writeTaggedFields(tagged)")
        out.append(f"{pad}}}")
        return out

    def decoder(self, fields, indent):
        pad = " " * indent
        out = [f"{pad}public init(from reader: inout ProtocolReader, version: Int16) throws(ProtocolDecodingError) {{"]
        out.append(f"{pad}    let flexible = {self.flex_expr()}")
        tagged = []
        for f in fields:
            name = camel(f["name"])
            present = Versions(f["versions"]).within(self.lo, self.hi)
            tv = Versions(f.get("taggedVersions")).within(self.lo, self.hi)
            if tv != "false":
                tagged.append((f, conj(present, tv)))
            inline = conj(present, negate(tv))
            if inline == "false":
                continue
            _, optional = self.swift_type(f)
            expr = self.read_value(f["type"], optional, "flexible")
            out.append(f"{pad}    {name} = {expr}" if inline == "true" else f"{pad}    if {inline} {{ {name} = {expr} }}")
        if self.flex_expr() == "false":
            return out + [f"{pad}}}"]
        if self.flex_expr() != "true":
            out.append(f"{pad}    guard flexible else {{ return }}")
        if not tagged:
            out.append(f"{pad}    try reader.readTaggedFields {{ _, _ in false }}")
        else:
            out.append(f"{pad}    try reader.readTaggedFields {{ (tag, reader) throws(ProtocolDecodingError) in")
            out.append(f"{pad}        switch tag {{")
            for f, cond in tagged:
                name = camel(f["name"])
                _, optional = self.swift_type(f)
                expr = self.read_value(f["type"], optional, "true")
                guard = "" if cond == "true" else f" where {cond}"
                out.append(f"{pad}        case {f['tag']}{guard}: {name} = {expr}; return true")
            out.append(f"{pad}        default: return false")
            out.append(f"{pad}        }}")
            out.append(f"{pad}    }}")
        out.append(f"{pad}}}")
        return out

    def message(self, role):
        s = self.schema
        name = s["name"]
        out = []
        resp = name.replace("Request", "Response")
        conf = "KafkaRequest" if role == "request" else "KafkaMessage"
        body = self.struct_body(name, s["fields"], 0, conf)
        # Put the static description and nested structs inside the message's braces.
        closing = []
        if role == "request":
            closing.append(f"    public typealias Response = {resp}")
            closing.append(f"    public static let apiKey = ApiKey.{camel(name[:-len('Request')])}")
        closing.append(f"    public static let versions: ClosedRange<Int16> = {self.lo}...{self.hi}")
        first_flexible = self.flex.lo if self.flex.lo is not None else "nil"
        closing.append(f"    public static let firstFlexibleVersion: Int16? = {first_flexible}")
        for sname, sfields in self.structs.items():
            closing.append("")
            closing += self.struct_body(sname, sfields, 4, "Sendable, Equatable")
            closing.append("    }")
        out += body[:1] + closing + [""] + body[1:] + ["}"]
        return out


def write_file(path, lines):
    text = "\n".join(lines) + "\n"
    with open(path, "w") as f:
        f.write(text)


HEADER = [
    "// Generated by Tools/generate-protocol.py from Kafka's message schemas. Do not edit:",
    "// run `make protocol` (it needs ../shared/kafka-protocol/messages).",
    "// swift-format-ignore-file",
    "",
]


def main():
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)
    keys = []
    for api, (lo, hi) in sorted(SPOKEN.items()):
        req = load(os.path.join(src, api + "Request.json"))
        resp = load(os.path.join(src, api + "Response.json"))
        valid = Versions(req["validVersions"])
        if not (valid.contains(lo) and valid.contains(hi)):
            sys.exit(f"{api}: {lo}-{hi} outside the schema's {req['validVersions']}")
        keys.append((req["apiKey"], api))
        lines = HEADER + Gen(req, lo, hi).message("request") + [""] + Gen(resp, lo, hi).message("response")
        write_file(os.path.join(dst, api + ".swift"), lines)
    for name, (lo, hi) in sorted(DATA.items()):
        write_file(os.path.join(dst, name + ".swift"), HEADER + Gen(load(os.path.join(src, name + ".json")), lo, hi).message("data"))
    lines = HEADER + [
        "/// Kafka's API keys, with the versions sluice speaks of each.",
        "public struct ApiKey: Hashable, Sendable, CustomStringConvertible {",
        "    public let rawValue: Int16",
        "    public let name: String",
        "    public init(_ rawValue: Int16, _ name: String) {",
        "        self.rawValue = rawValue",
        "        self.name = name",
        "    }",
        "    public var description: String { name }",
        "",
    ]
    for key, api in sorted(keys):
        lines.append(f"    public static let {camel(api)} = ApiKey({key}, \"{api}\")")
    lines += ["", "    /// Every API sluice speaks, by key, with its versions.", "    public static let spoken: [(key: ApiKey, versions: ClosedRange<Int16>)] = ["]
    for key, api in sorted(keys):
        lines.append(f"        (.{camel(api)}, {api}Request.versions),")
    lines += ["    ]", "}", "", "/// Every message type sluice speaks, for tests and fuzzing of the decoders.",
              "public enum SpokenMessages {", "    public static let requests: [any KafkaRequest.Type] = ["]
    lines += [f"        {api}Request.self," for _, api in sorted(keys)]
    lines += ["    ]", "    public static let responses: [any KafkaMessage.Type] = ["]
    lines += [f"        {api}Response.self," for _, api in sorted(keys)]
    lines += ["    ]", "    public static let embedded: [any KafkaMessage.Type] = ["]
    lines += [f"        {name}.self," for name in sorted(DATA)]
    lines += ["    ]", "}"]
    write_file(os.path.join(dst, "ApiKey.swift"), lines)
    codes = [l.rstrip("\n").split("\t") for l in open(os.path.join(src, "..", "error-codes.tsv"))][1:]
    lines = HEADER + [
        "extension KafkaErrorCode {",
        "    /// Every error code of the protocol: its name and whether Kafka's client retries it.",
        "    static let known: [Int16: (name: String, retriable: Bool)] = [",
    ]
    for code, name, _exc, retriable, *_ in codes:
        lines.append(f"        {code}: (\"{name}\", {'true' if retriable == 'yes' else 'false'}),")
    lines += ["    ]", "}"]
    write_file(os.path.join(dst, "ErrorCodes.swift"), lines)


main()
