/// Every table of `make bench`, in the order they run. To add a case, append a
/// `BenchCase` to a table (or a new `BenchTable` here) once the sluice command
/// it measures exists.
enum Catalogue {
    static func tables(_ sizes: BenchSizes) -> [BenchTable] {
        [
            ProduceConsumeCases.table(sizes),
            GrowthCases.table(sizes),
            GroupCases.table(sizes),
            ArchiveCases.table(sizes),
            RedistributeCases.table(sizes),
        ]
    }
}
