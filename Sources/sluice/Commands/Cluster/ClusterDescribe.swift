import ArgumentParser
import KafkaClient
import SluiceCluster
import SluiceCore

struct ClusterDescribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show a cluster's id, controller and brokers, and per API the versions the broker and sluice speak.",
        discussion: """
            The first check when a cluster command fails: it shows whether sluice reaches the brokers at their advertised \
            addresses, and which APIs the broker lacks (a command needing one says so and names it).
            """)

    @OptionGroup var common: CommonOptions

    @Flag(
        help:
            "Print JSON (schema: {version, cluster_id, controller, brokers: [{id, host, port, rack}], apis: [{api, broker, sluice, used}]})"
    )
    var json = false

    func run() throws {
        try common.apply()
        guard let settings = try common.clusterSettings() else {
            throw SluiceError.usage(
                .invalidArgument, "cluster describe needs a cluster", remedy: "give --bootstrap-server HOST:PORT or --cluster NAME")
        }
        let cluster = try ClusterStore(client: KafkaClient(settings.client), name: settings.name).describeCluster()
        if json {
            try Output.printJSON(cluster.json)
            return
        }
        var brokers = Table([("BROKER", .right), ("ADDRESS", .left), ("RACK", .left)])
        for broker in cluster.brokers {
            brokers.add([
                String(broker.id) + (broker.id == cluster.controllerId ? "*" : ""), broker.address.description, broker.rack ?? "-",
            ])
        }
        var apis = Table([("API", .left), ("BROKER", .left), ("SLUICE", .left), ("USED", .right)])
        for api in cluster.apis {
            apis.add([
                api.name, api.advertised.map(ApiVersionTable.text) ?? "-", ApiVersionTable.text(api.sluice),
                api.used.map { "v\($0)" } ?? "-",
            ])
        }
        try Output.print(
            """
            Cluster: \(cluster.clusterId)  Controller: \(cluster.controllerId)  Brokers: \(cluster.brokers.count)

            \(brokers.render())

            API versions of broker \(cluster.answeredBy):
            \(apis.render())
            """)
    }
}

extension ClusterDescription {
    var json: JSONValue {
        [
            "version": 1, "cluster_id": .string(clusterId), "controller": .int(Int64(controllerId)),
            "brokers": .array(
                brokers.map {
                    [
                        "id": .int(Int64($0.id)), "host": .string($0.address.host), "port": .int(Int64($0.address.port)),
                        "rack": $0.rack.map(JSONValue.string) ?? .null,
                    ]
                }),
            "apis": .array(
                apis.map { api in
                    [
                        "api": .string(api.name),
                        "broker": api.advertised.map { .array([.int(Int64($0.lowerBound)), .int(Int64($0.upperBound))]) } ?? .null,
                        "sluice": .array([.int(Int64(api.sluice.lowerBound)), .int(Int64(api.sluice.upperBound))]),
                        "used": api.used.map { .int(Int64($0)) } ?? .null,
                    ]
                }),
        ]
    }
}
