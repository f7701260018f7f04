/// Benchmarks of Strata's kernels and models; filled by the kernels issue.
public enum Bench {}
