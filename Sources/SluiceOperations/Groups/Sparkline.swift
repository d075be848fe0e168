/// A trend as a row of block characters, lowest value ▁, highest █.
public enum Sparkline {
    static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    public static func render(_ values: [Int64]) -> String {
        guard let low = values.min(), let high = values.max() else { return "" }
        guard high > low else { return String(repeating: values.allSatisfy({ $0 == 0 }) ? blocks[0] : blocks[3], count: values.count) }
        return String(values.map { blocks[Int((Double($0 - low) / Double(high - low) * 7).rounded())] })
    }
}
