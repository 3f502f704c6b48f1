/* Test specs for the reduce_dim rows of the op table (src/ops/ops_reduce_dim.def);
 * the format is described in tests/op_specs.h, which includes this file. */
