/* Test specs for the nn rows of the op table (src/ops/ops_nn.def);
 * the format is described in tests/op_specs.h, which includes this file. */
