/// Labels the connected components of a 3-D binary volume under 26-connectivity.
///
/// Two foreground voxels belong to one component when a chain of foreground voxels joins them, each touching the
/// next by a face, an edge or a corner (26-connectivity: every voxel of the 3 × 3 × 3 block around a voxel is a
/// neighbour). Lesion masks are drawn slice by slice and often touch only diagonally between slices, so a lesion
/// that 6-connectivity would split stays one lesion here.
///
/// Two passes with a union–find forest, no recursion (a lesion of millions of voxels cannot overflow a stack):
/// the first pass gives each foreground voxel the label of an earlier neighbour (the 13 neighbours that precede it
/// in raster order) and unites the labels that meet; the second replaces each label by its root, numbered 1, 2, …
/// in order of first appearance.
///
/// ```swift
/// // Two voxels touching only at a corner, in a 2 × 2 × 2 volume [d, h, w]:
/// let volume: [Bool] = [true, false, false, false,   false, false, false, true]
/// let components = ConnectedComponents(foreground: volume, depth: 2, height: 2, width: 2)
/// components.count        // 1
/// components.sizes        // [2]
/// ```
public struct ConnectedComponents: Sendable {
    /// Component of every voxel, `[d, h, w]` row-major: 0 background, 1...``count`` foreground.
    public let labels: [Int32]
    /// Number of components.
    public let count: Int
    /// Voxels in each component; `sizes[k - 1]` belongs to label k.
    public let sizes: [Int]

    /// - Parameters:
    ///   - foreground: `depth × height × width` flags, `[d, h, w]` row-major.
    public init(foreground: [Bool], depth: Int, height: Int, width: Int) {
        precondition(foreground.count == depth * height * width, "\(foreground.count) voxels for \(depth)x\(height)x\(width)")
        let plane = height * width
        var labels = [Int32](repeating: 0, count: foreground.count)
        var forest = UnionFind()
        // The 13 neighbours already visited in raster order: the whole previous slice, the previous row, the
        // previous voxel. Offsets (dz, dy, dx).
        var earlier: [(Int, Int, Int)] = []
        for dz in -1...0 {
            for dy in -1...1 {
                for dx in -1...1 where dz < 0 || dy < 0 || (dy == 0 && dx < 0) {
                    earlier.append((dz, dy, dx))
                }
            }
        }
        for z in 0..<depth {
            for y in 0..<height {
                for x in 0..<width where foreground[z * plane + y * width + x] {
                    var label: Int32 = 0
                    for (dz, dy, dx) in earlier {
                        let nz = z + dz, ny = y + dy, nx = x + dx
                        guard nz >= 0, ny >= 0, ny < height, nx >= 0, nx < width else { continue }
                        let neighbour = labels[nz * plane + ny * width + nx]
                        guard neighbour != 0 else { continue }
                        if label == 0 {
                            label = neighbour
                        } else if neighbour != label {
                            forest.unite(label, neighbour)
                        }
                    }
                    labels[z * plane + y * width + x] = label == 0 ? forest.makeSet() : label
                }
            }
        }
        // Roots to 1, 2, … in order of first appearance.
        var final = [Int32](repeating: 0, count: forest.setCount + 1)
        var sizes: [Int] = []
        for index in labels.indices where labels[index] != 0 {
            let root = Int(forest.find(labels[index]))
            if final[root] == 0 {
                sizes.append(0)
                final[root] = Int32(sizes.count)
            }
            labels[index] = final[root]
            sizes[Int(final[root]) - 1] += 1
        }
        self.labels = labels
        self.count = sizes.count
        self.sizes = sizes
    }

    private init(labels: [Int32], sizes: [Int]) {
        self.labels = labels
        self.count = sizes.count
        self.sizes = sizes
    }

    /// The components whose voxel count satisfies `isKept`, renumbered 1, 2, … in their present order; the others
    /// become background (lesion evaluation drops lesions at or below a minimum volume this way).
    ///
    /// ```swift
    /// let lesions = components.keeping { Double($0) * voxelVolumeMM3 > 3 }   // more than 3 mm³
    /// ```
    public func keeping(_ isKept: (Int) -> Bool) -> ConnectedComponents {
        // newLabel[k] for old label k; 0 = dropped. Index 0 is the background.
        var newLabel = [Int32](repeating: 0, count: count + 1)
        var kept: [Int] = []
        for (index, size) in sizes.enumerated() where isKept(size) {
            kept.append(size)
            newLabel[index + 1] = Int32(kept.count)
        }
        guard kept.count < count else { return self }
        return ConnectedComponents(labels: labels.map { newLabel[Int($0)] }, sizes: kept)
    }
}

/// Disjoint sets of provisional labels 1, 2, …, with iterative find (path halving) and union by smaller root.
struct UnionFind {
    /// parent[k] for label k; index 0 unused (background).
    private var parent: [Int32] = [0]

    var setCount: Int { parent.count - 1 }

    /// A new singleton set; returns its label.
    mutating func makeSet() -> Int32 {
        let label = Int32(parent.count)
        parent.append(label)
        return label
    }

    /// The root of `label`'s set; halves the path on the way so later finds are shorter.
    mutating func find(_ label: Int32) -> Int32 {
        var current = label
        while parent[Int(current)] != current {
            let grandparent = parent[Int(parent[Int(current)])]
            parent[Int(current)] = grandparent
            current = grandparent
        }
        return current
    }

    /// Joins the sets of `a` and `b`; the smaller root becomes the root, so labels stay in first-seen order.
    mutating func unite(_ a: Int32, _ b: Int32) {
        let rootA = find(a), rootB = find(b)
        guard rootA != rootB else { return }
        if rootA < rootB { parent[Int(rootB)] = rootA } else { parent[Int(rootA)] = rootB }
    }
}
