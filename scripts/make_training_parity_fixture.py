#!/usr/bin/env python3
"""Writes the PyTorch training-parity fixtures under test/fixtures/training-parity/.

What a training step here must reproduce: the reference's `train_epoch` (github.com/akandykeller/FERNN,
`moving_mnist_fp/train_eval_utils.py`): forward with teacher forcing, MSE over the predicted frames, backward,
`torch.nn.utils.clip_grad_norm_(model.parameters(), clip)`, `torch.optim.Adam(lr)` with its defaults (betas 0.9/0.999,
eps 1e-8, bias correction), batches taken in file order (a DataLoader with shuffle=False). The model below is written
here (the reference repo is not needed): the reference's `Seq2SeqFERNN` maths -- circular 3x3 convolutions without
bias, hidden slices rolled by (vy, vx) per velocity, relu, max over velocities, a circular conv decoder, the last
input frame re-read by the first decoder step, the previous prediction fed back detached or, with probability
`teacher_forcing_ratio`, the target frame t -- under the reference's parameter names, so its state_dict loads into
the reference class and into our importer alike (test/fixtures/parity pins the forward pass to the reference itself).

Teacher forcing is covered at ratio 0 and 1: both are deterministic (`random.random() < 1.0` always holds), so the
comparison needs no shared random stream.

Rerun (Debian's python3-torch and numpy):

    /usr/bin/python3 scripts/make_training_parity_fixture.py

Written per model NAME (fernn_v1, grnn):
    NAME.init.pth        the initial state_dict (torch.save, zip format)
    NAME.data.npy        float32 [N, T_in + K, 1, H, W] in [0, 1]: the dataset, batches taken in file order
and per run NAME.tfR (R = 0, 1: the teacher forcing ratio):
    NAME.tfR.final.pth   the state_dict after `steps` Adam steps
    NAME.tfR.json        the settings, and per step the loss and the global gradient norm before clipping
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn

MODELS = [
    # FERNN-V1 on non-square frames, one decoder layer.
    dict(name="fernn_v1", v_range=1, hidden=4, decoder_conv_layers=1, height=8, width=10, seed=11),
    # G-RNN (V = {0}), two decoder layers, the other aspect ratio.
    dict(name="grnn", v_range=0, hidden=5, decoder_conv_layers=2, height=9, width=7, seed=22),
]
N_SEQ = 8
T_IN = 4
PRED_LEN = 3
BATCH = 2
STEPS = 8  # two passes over the file: batch i of step s is sequences ((s-1)*BATCH + i) mod N_SEQ
LR = 1e-2
# Inside the range of these runs' gradient norms (about 0.01 .. 0.5): clipping acts on most steps, by a factor that
# differs from step to step (a constant factor would cancel in Adam's m / sqrt(v)).
CLIP = 0.05


class Cell(nn.Module):
    def __init__(self, hidden, v_range):
        super().__init__()
        self.hidden = hidden
        self.v_list = [(x, y) for x in range(-v_range, v_range + 1) for y in range(-v_range, v_range + 1)]
        self.conv_u = nn.Conv2d(1, hidden, 3, padding=1, padding_mode="circular", bias=False)
        self.conv_h = nn.Conv2d(hidden, hidden, 3, padding=1, padding_mode="circular", bias=False)

    def forward(self, u, h):
        b, nv, c, H, W = h.shape
        uc = self.conv_u(u).unsqueeze(1)
        hs = torch.stack([torch.roll(h[:, i], shifts=(vy, vx), dims=(2, 3)) for i, (vx, vy) in enumerate(self.v_list)], 1)
        hc = self.conv_h(hs.reshape(b * nv, c, H, W)).reshape(b, nv, c, H, W)
        return torch.relu(uc + hc)


class Seq2Seq(nn.Module):
    def __init__(self, hidden, v_range, decoder_conv_layers):
        super().__init__()
        self.cell = Cell(hidden, v_range)
        layers = []
        for _ in range(decoder_conv_layers):
            layers += [nn.Conv2d(hidden, hidden, 3, padding=1, padding_mode="circular", bias=False), nn.ReLU()]
        layers += [nn.Conv2d(hidden, 1, 3, padding=1, padding_mode="circular", bias=False)]
        self.decoder_conv = nn.Sequential(*layers)

    def forward(self, x, pred_len, teacher_forcing_ratio, target_seq):
        b, t_in, _, H, W = x.shape
        h = torch.zeros(b, len(self.cell.v_list), self.cell.hidden, H, W)
        for t in range(t_in):
            h = self.cell(x[:, t], h)
        prev = x[:, -1]
        outs = []
        for t in range(pred_len):
            frame = target_seq[:, t] if teacher_forcing_ratio >= 1 else prev.detach()
            h = self.cell(frame, h)
            out = self.decoder_conv(h.max(1)[0])
            outs.append(out)
            prev = out
        return torch.stack(outs, 1)


def make_data(rng, height, width):
    """Blobs moving with integer velocities on the torus, the lab's data convention: frame t = roll(img, v * t)."""
    seqs = np.zeros((N_SEQ, T_IN + PRED_LEN, 1, height, width), np.float32)
    for n in range(N_SEQ):
        img = np.zeros((height, width), np.float32)
        for _ in range(2):
            y, x = rng.integers(0, height), rng.integers(0, width)
            img[y, x] = 1.0
            img[(y + 1) % height, x] = max(img[(y + 1) % height, x], 0.5)
            img[y, (x + 1) % width] = max(img[y, (x + 1) % width], 0.5 + 0.5 * rng.random())
        vx, vy = rng.integers(-1, 2), rng.integers(-1, 2)
        for t in range(T_IN + PRED_LEN):
            seqs[n, t, 0] = np.roll(img, (vy * t, vx * t), axis=(0, 1))
    return seqs


def train(model, data, tf_ratio):
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    losses, norms = [], []
    for step in range(1, STEPS + 1):
        idx = [((step - 1) * BATCH + i) % N_SEQ for i in range(BATCH)]
        seq = torch.from_numpy(data[idx])
        inp, tgt = seq[:, :T_IN], seq[:, T_IN:]
        opt.zero_grad()
        out = model(inp, PRED_LEN, tf_ratio, tgt)
        loss = nn.functional.mse_loss(out, tgt)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        losses.append(loss.item())
        norms.append(norm.item())
    return losses, norms


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "test", "fixtures", "training-parity"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    for m in MODELS:
        torch.manual_seed(m["seed"])
        model = Seq2Seq(m["hidden"], m["v_range"], m["decoder_conv_layers"])
        init = {k: v.clone() for k, v in model.state_dict().items()}
        data = make_data(np.random.default_rng(m["seed"]), m["height"], m["width"])
        base = os.path.join(args.out, m["name"])
        torch.save(init, base + ".init.pth")
        np.save(base + ".data.npy", data)
        for tf_ratio in (0, 1):
            model.load_state_dict(init)
            model.train()
            losses, norms = train(model, data, tf_ratio)
            run = f"{base}.tf{tf_ratio}"
            torch.save(model.state_dict(), run + ".final.pth")
            meta = dict(
                m,
                teacher_forcing=tf_ratio,
                n_seq=N_SEQ,
                t_in=T_IN,
                pred_len=PRED_LEN,
                batch=BATCH,
                steps=STEPS,
                lr=LR,
                clip=CLIP,
                adam=dict(betas=[0.9, 0.999], eps=1e-8),
                batch_order="file: step s (1-based) takes sequences ((s-1)*batch + i) mod n_seq",
                losses=losses,
                grad_norms=norms,
                torch_version=torch.__version__,
            )
            with open(run + ".json", "w") as f:
                json.dump(meta, f, indent=2)
                f.write("\n")
            print(f"{m['name']} tf{tf_ratio}: losses {losses[0]:.5f} -> {losses[-1]:.5f}, grad norms {min(norms):.3f}..{max(norms):.3f}")


if __name__ == "__main__":
    main()
