/// A JSON object that keeps its members in insertion order, as they were read or added.
///
/// Members live in one array. Most objects on the wire (a delta, a notification's params, an error)
/// have a handful of keys, where a linear scan beats hashing; an index from key to position is
/// built only once an object grows past `indexThreshold` keys. A key set again keeps its first
/// position, as jansson does.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSONValue)

    private static let indexThreshold = 16

    private var members: [Element] = []
    private var index: [String: Int]?

    public init() {}

    public init(_ members: some Sequence<(String, JSONValue)>) {
        self.members.reserveCapacity(members.underestimatedCount)
        for (key, value) in members { self[key] = value }
    }

    /// Members whose keys the caller knows to be distinct (a parser that checked), in order.
    init(uniqueMembers: [Element]) {
        members = uniqueMembers
        if members.count > Self.indexThreshold { rebuildIndex() }
    }

    /// Makes room for `count` members, so that building an object of known size allocates once.
    public mutating func reserveCapacity(_ count: Int) {
        members.reserveCapacity(count)
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        return members.firstIndex { $0.key == key }
    }

    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { members[$0].value } }
        set {
            if let newValue {
                if let position = position(of: key) {
                    members[position].value = newValue
                } else {
                    members.append((key, newValue))
                    if index != nil {
                        index?[key] = members.count - 1
                    } else if members.count > Self.indexThreshold {
                        rebuildIndex()
                    }
                }
            } else if let position = position(of: key) {
                members.remove(at: position)
                if index != nil { rebuildIndex() }
            }
        }
    }

    private mutating func rebuildIndex() {
        var positions: [String: Int] = [:]
        positions.reserveCapacity(members.count)
        for (offset, member) in members.enumerated() { positions[member.key] = offset }
        index = positions
    }

    public func makeIterator() -> IndexingIterator<[Element]> {
        members.makeIterator()
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(members.count)
        for member in members {
            hasher.combine(member.key)
            hasher.combine(member.value)
        }
    }
}
