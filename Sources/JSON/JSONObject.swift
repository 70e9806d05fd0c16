/// A JSON object that keeps its members in insertion order, as they were read or added.
///
/// Lookups go through a dictionary from key to position; a key set again keeps
/// its first position, as jansson does.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSONValue)

    private var keyOrder: [String] = []
    private var storage: [String: JSONValue] = [:]

    public init() {}

    public init(_ members: some Sequence<(String, JSONValue)>) {
        for (key, value) in members { self[key] = value }
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    public var count: Int { keyOrder.count }
    public var isEmpty: Bool { keyOrder.isEmpty }
    public var keys: [String] { keyOrder }

    public subscript(key: String) -> JSONValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keyOrder.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keyOrder.removeAll { $0 == key }
            }
        }
    }

    public func makeIterator() -> some IteratorProtocol<Element> {
        var index = keyOrder.startIndex
        return AnyIterator { [keyOrder, storage] () -> Element? in
            guard index < keyOrder.endIndex else { return nil }
            let key = keyOrder[index]
            index += 1
            return (key, storage[key]!)
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.keyOrder == rhs.keyOrder && lhs.storage == rhs.storage
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(keyOrder)
        hasher.combine(storage)
    }
}
