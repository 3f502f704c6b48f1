/* Test specs for the index rows of the op table (src/ops/ops_index.def);
 * the format is described in tests/op_specs.h, which includes this file. */
