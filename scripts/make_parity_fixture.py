#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures under test/fixtures/parity/.

The fixtures pin our TypeScript Seq2Seq model to the reference implementation of the FERNN paper
(github.com/akandykeller/FERNN, `moving_mnist_fp/moving_mnist_models.py`, class `Seq2SeqFERNN`): the reference model
with seeded default-init weights, a seeded input, and the reference's outputs and encoder hidden states. The test
test/node/pth.test.ts imports the .pth with our own zip + pickle reader and must reproduce both.

Rerun (needs PyTorch and NumPy; the reference repo is not vendored, clone it yourself):

    git clone https://github.com/akandykeller/FERNN /tmp/FERNN
    /usr/bin/python3 scripts/make_parity_fixture.py --reference /tmp/FERNN   (Debian's python3-torch)

Written per setting NAME:
    NAME.pth          torch.save(model.state_dict())            (zip format, torch [out, in, kh, kw] weights)
    NAME.input.npy    float32 [B, T_in, 1, H, W] in [0, 1]       (reference layout, NCHW per frame)
    NAME.output.npy   float32 [B, pred_len, 1, H, W]             model(input, pred_len, return_hidden=True)[0]
    NAME.hidden.npy   float32 [B, T_in, V, C, H, W]              encoder hidden states (V in reference order:
                                                                 vx outer, vy inner)
    NAME.json         the settings

and, for the reader's own tests, test/fixtures/pth/ (tiny, no reference model needed):
    layout.pth        {'whole': arange(12).reshape(3, 4), 'transposed': whole.t(), 'offset': whole.view(-1)[5:9],
                       'strided': whole[:, ::2]} -- views sharing one storage (offset, non-contiguous strides)
    float64.pth       {'w': zeros(2, dtype=float64)}            (unsupported dtype)
    module.pth        torch.save(nn.Linear(1, 1))               (a whole module, not a state_dict)
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

SETTINGS = [
    # FERNN-V1 on non-square frames: catches H/W and (vx, vy) -> (dy, dx) mix-ups.
    dict(name="fernn_v1", v_range=1, hidden=8, decoder_conv_layers=2, height=12, width=10, seed=1234),
    # G-RNN baseline (V = {0}), one decoder layer, the other aspect ratio.
    dict(name="grnn", v_range=0, hidden=6, decoder_conv_layers=1, height=9, width=11, seed=5678),
]
BATCH = 2
T_IN = 5
PRED_LEN = 4


def write_reader_fixtures(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    whole = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    torch.save({"whole": whole, "transposed": whole.t(), "offset": whole.view(-1)[5:9], "strided": whole[:, ::2]},
               os.path.join(out_dir, "layout.pth"))
    torch.save({"w": torch.zeros(2, dtype=torch.float64)}, os.path.join(out_dir, "float64.pth"))
    torch.manual_seed(0)
    torch.save(torch.nn.Linear(1, 1), os.path.join(out_dir, "module.pth"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", required=True, help="checkout of github.com/akandykeller/FERNN")
    fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures")
    ap.add_argument("--out", default=os.path.join(fixtures, "parity"))
    ap.add_argument("--reader-out", default=os.path.join(fixtures, "pth"))
    args = ap.parse_args()
    write_reader_fixtures(args.reader_out)

    model_dir = os.path.join(os.path.abspath(args.reference), "moving_mnist_fp")
    if not os.path.isfile(os.path.join(model_dir, "moving_mnist_models.py")):
        sys.exit(f"--reference: {model_dir}/moving_mnist_models.py not found (clone github.com/akandykeller/FERNN)")
    sys.path.insert(0, model_dir)
    from moving_mnist_models import Seq2SeqFERNN  # noqa: E402  (the reference's own class, imported, not copied)

    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    for s in SETTINGS:
        torch.manual_seed(s["seed"])
        model = Seq2SeqFERNN(
            input_channels=1,
            hidden_channels=s["hidden"],
            height=s["height"],
            width=s["width"],
            v_range=s["v_range"],
            pool_type="max",
            decoder_conv_layers=s["decoder_conv_layers"],
        )
        model.eval()
        gen = torch.Generator().manual_seed(s["seed"] + 1)
        inputs = torch.rand(BATCH, T_IN, 1, s["height"], s["width"], generator=gen)
        with torch.no_grad():
            out, enc_hidden, _ = model(inputs, pred_len=PRED_LEN, return_hidden=True)

        base = os.path.join(args.out, s["name"])
        torch.save(model.state_dict(), base + ".pth")
        np.save(base + ".input.npy", inputs.numpy().astype(np.float32))
        np.save(base + ".output.npy", out.numpy().astype(np.float32))
        np.save(base + ".hidden.npy", enc_hidden.numpy().astype(np.float32))
        meta = dict(
            s,
            batch=BATCH,
            t_in=T_IN,
            pred_len=PRED_LEN,
            pool="max",
            activation="relu",
            num_v=model.num_v,
            velocities=[list(v) for v in model.cell.v_list],
            torch_version=torch.__version__,
            input_layout="[B, T_in, 1, H, W]",
            output_layout="[B, pred_len, 1, H, W]",
            hidden_layout="[B, T_in, V, C, H, W]",
        )
        with open(base + ".json", "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        print(f"{s['name']}: output max {out.abs().max().item():.4f}, hidden max {enc_hidden.abs().max().item():.4f}")


if __name__ == "__main__":
    main()
