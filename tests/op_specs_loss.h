/* Test specs for the loss rows of the op table (src/ops/ops_loss.def);
 * the format is described in tests/op_specs.h, which includes this file. */
