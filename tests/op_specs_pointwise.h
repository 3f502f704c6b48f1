/* Test specs for the pointwise rows of the op table (src/ops/ops_pointwise.def);
 * the format is described in tests/op_specs.h, which includes this file. */
