import StrataCore
import Yams

/// One mapping of a job file, read key by key with the checks every key gets: unknown keys are refused with the
/// nearest valid key suggested, and each value must have the type its key documents (docs/config.md).
///
/// Errors are ``StrataError/invalidArgument(name:reason:)`` named after the job file, with the key's full dotted
/// path, so `strata train` prints e.g. `job.yaml: unknown key 'optimiser' (did you mean 'optimizer'?)`.
struct YAMLSection {
    /// The job file as the user named it (for messages).
    let file: String
    /// Dotted path of this mapping ("" at the top level, "model", "optimizer" ...).
    let path: String
    private let values: [String: Node]

    /// Checks `mapping`'s keys against `allowed`; the first unknown key (in file order) is an error.
    init(_ node: Node, file: String, path: String, allowed: [String]) throws {
        self.file = file
        self.path = path
        guard let mapping = node.mapping else {
            throw StrataError.invalidArgument(
                name: file, reason: path.isEmpty ? "expected a mapping of keys at the top level"
                    : "key '\(path)': expected a mapping of keys, found \(Self.describe(node))")
        }
        var values: [String: Node] = [:]
        for (key, value) in mapping {
            let name = key.string ?? ""
            guard allowed.contains(name) else {
                let synonym = Self.synonyms[name].flatMap { allowed.contains($0) ? $0 : nil }
                // A section's key written at the top level (`lr: 0.01`, `learning_rate: ...`, `hidden: [8]`).
                let misplaced = path.isEmpty ? Self.nestedHomes[Self.synonyms[name] ?? name] : nil
                let nearest = synonym.map { Self.join(path, $0) } ?? misplaced
                    ?? allowed.min { (Self.editDistance(name, $0), $0) < (Self.editDistance(name, $1), $1) }
                        .map { Self.join(path, $0) }
                let hint = nearest.map { " (did you mean '\($0)'?)" } ?? ""
                throw StrataError.invalidArgument(name: file, reason: "unknown key '\(Self.join(path, name))'\(hint)")
            }
            guard values[name] == nil else {
                throw StrataError.invalidArgument(name: file, reason: "key '\(Self.join(path, name))' appears twice")
            }
            values[name] = value
        }
        self.values = values
    }

    func has(_ key: String) -> Bool { values[key] != nil && !isNull(values[key]!) }

    /// The nested mapping under `key`, if present.
    func section(_ key: String, allowed: [String]) throws -> YAMLSection? {
        guard let node = present(key) else { return nil }
        return try YAMLSection(node, file: file, path: Self.join(path, key), allowed: allowed)
    }

    func string(_ key: String) throws -> String? {
        guard let node = present(key) else { return nil }
        guard case .scalar(let scalar) = node else { throw typeError(key, "a string", node) }
        return scalar.string
    }

    /// One of `choices` (a closed set, listed in the error).
    func choice(_ key: String, _ choices: [String]) throws -> String? {
        guard let value = try string(key) else { return nil }
        guard choices.contains(value) else {
            throw StrataError.invalidArgument(
                name: file, reason: "key '\(Self.join(path, key))': '\(value)' is not one of "
                    + choices.joined(separator: ", "))
        }
        return value
    }

    func int(_ key: String, atLeast minimum: Int? = nil) throws -> Int? {
        guard let node = present(key) else { return nil }
        guard let value = node.int, node.scalar?.style == .plain else { throw typeError(key, "an integer", node) }
        if let minimum, value < minimum {
            throw StrataError.invalidArgument(
                name: file, reason: "key '\(Self.join(path, key))': \(value) is below the minimum \(minimum)")
        }
        return value
    }

    func double(_ key: String, in range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let node = present(key) else { return nil }
        guard let value = node.float ?? node.int.map(Double.init), node.scalar?.style == .plain, value.isFinite else {
            throw typeError(key, "a number", node)
        }
        if let range, !range.contains(value) {
            throw StrataError.invalidArgument(
                name: file, reason: "key '\(Self.join(path, key))': \(value) is outside \(range.lowerBound)..."
                    + "\(range.upperBound)")
        }
        return value
    }

    func bool(_ key: String) throws -> Bool? {
        guard let node = present(key) else { return nil }
        guard let value = node.bool, node.scalar?.style == .plain else { throw typeError(key, "true or false", node) }
        return value
    }

    /// A list of strings; a single string is read as a list of one.
    func strings(_ key: String) throws -> [String]? {
        guard let node = present(key) else { return nil }
        if case .scalar(let scalar) = node { return [scalar.string] }
        guard let items = node.sequence else { throw typeError(key, "a string or a list of strings", node) }
        return try items.map { item in
            guard case .scalar(let scalar) = item else { throw typeError(key, "a list of strings", node) }
            return scalar.string
        }
    }

    /// A list whose items are each a string or a list of strings (a collection of stacks).
    func stringLists(_ key: String) throws -> [[String]]? {
        guard let node = present(key) else { return nil }
        guard let items = node.sequence else { throw typeError(key, "a list of paths or of lists of paths", node) }
        return try items.map { item in
            if case .scalar(let scalar) = item { return [scalar.string] }
            guard let inner = item.sequence, !inner.isEmpty else {
                throw typeError(key, "a list of paths or of lists of paths", node)
            }
            return try inner.map { part in
                guard case .scalar(let scalar) = part else {
                    throw typeError(key, "a list of paths or of lists of paths", node)
                }
                return scalar.string
            }
        }
    }

    /// A list of integers; a single integer is read as a list of one.
    func ints(_ key: String, atLeast minimum: Int) throws -> [Int]? {
        guard let node = present(key) else { return nil }
        let items = node.sequence.map(Array.init) ?? [node]
        let values = items.compactMap { $0.scalar?.style == .plain ? $0.int : nil }
        guard values.count == items.count, !values.isEmpty else {
            throw typeError(key, "an integer or a list of integers", node)
        }
        if let low = values.first(where: { $0 < minimum }) {
            throw StrataError.invalidArgument(
                name: file, reason: "key '\(Self.join(path, key))': \(low) is below the minimum \(minimum)")
        }
        return values
    }

    /// An error about this mapping's `key` in the job file's words.
    func invalid(_ key: String, _ reason: String) -> StrataError {
        .invalidArgument(name: file, reason: "key '\(Self.join(path, key))': \(reason)")
    }

    // MARK: Helpers

    private func present(_ key: String) -> Node? {
        guard let node = values[key], !isNull(node) else { return nil }
        return node
    }

    private func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    private func typeError(_ key: String, _ expected: String, _ node: Node) -> StrataError {
        .invalidArgument(name: file, reason: "key '\(Self.join(path, key))': expected \(expected), found "
            + Self.describe(node))
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): return "'\(scalar.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    /// Names users bring from other tools, mapped to Strata's key when spelling alone would suggest another.
    static let synonyms = ["learning_rate": "lr", "batch_size": "batch", "patch_size": "patch", "num_epochs": "epochs",
                           "optim": "optimizer", "scheduler": "schedule", "val": "validation", "out": "output",
                           "output_dir": "output", "hidden_channels": "hidden", "kernel_size": "kernel"]

    /// Keys that belong in one section only, for the hint when they appear at the top level.
    static let nestedHomes = ["lr": "optimizer.lr", "weight_decay": "optimizer.weight_decay",
                              "momentum": "optimizer.momentum", "hidden": "model.hidden", "kernel": "model.kernel",
                              "cell": "model.cell", "peephole": "model.peephole", "patience": "early_stopping.patience",
                              "warmup_steps": "schedule.warmup_steps", "change_step": "targets.change_step",
                              "positive_fraction": "sampling.positive_fraction", "fraction": "validation.fraction"]

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Levenshtein distance (insertions, deletions, substitutions), for "did you mean".
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                let substitution = previous + (a[i - 1] == b[j - 1] ? 0 : 1)
                previous = row[j]
                row[j] = min(substitution, row[j] + 1, row[j - 1] + 1)
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}
