extension Double {
    /// The number in plain decimal with at most `maxFractionDigits` fraction digits and no trailing zeros,
    /// integer digits grouped by ",": "60", "0.5", "1,234.568". It prints what Foundation's
    /// `formatted(.number.precision(.fractionLength(0...maxFractionDigits)))` prints in the en locale it
    /// uses on Linux: the shortest decimal that reads back as this Double, rounded half to even.
    public func decimalText(maxFractionDigits: Int) -> String {
        let sign = sign == .minus ? "-" : ""
        if isNaN { return sign + "NaN" }
        if isInfinite { return sign + "∞" }
        var (digits, integerCount) = Self.shortestDigits(magnitude)
        Self.round(&digits, &integerCount, keeping: integerCount + maxFractionDigits)

        var integer = ""
        if integerCount <= 0 {
            integer = "0"
        } else {
            for position in 0..<integerCount {
                if position > 0, (integerCount - position) % 3 == 0 { integer += "," }
                integer += position < digits.count ? String(digits[position]) : "0"
            }
        }
        var fraction = ""
        if !digits.isEmpty, digits.count > integerCount {
            fraction = String(repeating: "0", count: max(0, -integerCount))
            fraction += digits[max(0, integerCount)...].map(String.init).joined()
        }
        return sign + integer + (fraction.isEmpty ? "" : "." + fraction)
    }

    /// The digits of `description` (the shortest round-tripping decimal) without leading zeros, and how
    /// many of them come before the decimal point (negative for 0.00ddd, more than the digits for ddd00).
    private static func shortestDigits(_ value: Double) -> (digits: [Int], integerCount: Int) {
        let text = value.description  // "60.0", "0.0001", "1e-05", "1.2345e+20"
        let parts = text.split(separator: "e")
        let exponent = parts.count > 1 ? Int(parts[1])! : 0
        let mantissa = parts[0]
        var digits: [Int] = []
        var integerCount = 0
        var seenPoint = false
        for character in mantissa {
            if character == "." {
                seenPoint = true
            } else {
                digits.append(character.wholeNumberValue!)
                if !seenPoint { integerCount += 1 }
            }
        }
        integerCount += exponent
        while digits.count > 1, digits[0] == 0 {
            digits.removeFirst()
            integerCount -= 1
        }
        while digits.count > 1, digits.last == 0 { digits.removeLast() }
        if digits == [0] { return ([], 1) }
        return (digits, integerCount)
    }

    /// Rounds to the first `keep` digits, half to even, dropping trailing zeros.
    private static func round(_ digits: inout [Int], _ integerCount: inout Int, keeping keep: Int) {
        guard keep < digits.count else { return }
        guard keep >= 0 else {
            digits = []
            return
        }
        let first = digits[keep]
        let restNonZero = digits[(keep + 1)...].contains { $0 != 0 }
        let lastKeptOdd = keep > 0 && digits[keep - 1] % 2 == 1
        let up = first > 5 || (first == 5 && (restNonZero || lastKeptOdd))
        digits.removeSubrange(keep...)
        if up {
            var index = keep - 1
            while index >= 0, digits[index] == 9 {
                digits[index] = 0
                index -= 1
            }
            if index >= 0 {
                digits[index] += 1
            } else {
                digits.insert(1, at: 0)
                integerCount += 1
            }
        }
        while digits.last == 0 { digits.removeLast() }
    }
}
