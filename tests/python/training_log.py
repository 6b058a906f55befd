"""What the tests of examples/train_tiny_*.py read in a training script's output: the last line
``first-loss A last-loss B`` (the mean loss over the first and the last tenth of the steps)."""

import re
import sys


def check_loss_fell(log, by):
    """Exit with a message unless `log` ends its training with a last loss at least `by` below
    the first; print and return (first, last)."""
    m = re.search(r"first-loss ([0-9.]+) last-loss ([0-9.]+)", log)
    if not m:
        sys.exit("no loss summary in the output")
    first, last = float(m.group(1)), float(m.group(2))
    if not last < first - by:
        sys.exit("the loss did not fall: first %.4f last %.4f" % (first, last))
    print("ok: loss %.4f -> %.4f" % (first, last))
    return first, last
