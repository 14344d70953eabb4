#!/usr/bin/env python3
"""PyTorch side of `npm run bench`: ms per training step of a seq2seq FERNN / G-RNN with the same architecture as
src/core/nn (our own small model, not the reference's code).

Cell (NCHW): h [B, V, C, H, W], h0 = 0;  h'[v] = relu(conv_u(u) + conv_h(roll(h[v], shifts=(vy, vx))))
with 3x3 circular convs without bias, shared across v; V = {-r..r}^2 (r = 0: G-RNN).
Seq2seq: encode T_in frames, decode T_out frames autoregressively (first decoder input = last input frame, then the
detached prediction); readout = max over V, decoder_layers x (conv C->C + relu), conv C->1. MSE, Adam 1e-3,
clip_grad_norm 1.0. Inputs and targets are uniform random.

Prints one JSON line: {"ms_per_step" (median), "best_ms", "step_ms", "device", "threads", "torch_version", "peak_rss_mb", ...}.
Run with a python that has torch: /usr/bin/python3 (Debian python3-torch) here, python3 on the GPU machine.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn


def circ_conv(cin, cout):
    return nn.Conv2d(cin, cout, 3, padding=1, padding_mode="circular", bias=False)


class Cell(nn.Module):
    def __init__(self, hidden, v_range):
        super().__init__()
        self.hidden = hidden
        self.velocities = [(vx, vy) for vx in range(-v_range, v_range + 1) for vy in range(-v_range, v_range + 1)]
        self.conv_u = circ_conv(1, hidden)
        self.conv_h = circ_conv(hidden, hidden)

    def forward(self, u, h):
        b, nv, c, hh, ww = h.shape
        uc = self.conv_u(u)  # [B, C, H, W]
        moved = torch.stack(
            [torch.roll(h[:, i], shifts=(vy, vx), dims=(-2, -1)) for i, (vx, vy) in enumerate(self.velocities)], dim=1
        )
        hc = self.conv_h(moved.reshape(b * nv, c, hh, ww)).reshape(b, nv, c, hh, ww)
        return torch.relu(hc + uc.unsqueeze(1))


class Seq2Seq(nn.Module):
    def __init__(self, hidden, v_range, decoder_layers):
        super().__init__()
        self.cell = Cell(hidden, v_range)
        layers = []
        for _ in range(decoder_layers):
            layers += [circ_conv(hidden, hidden), nn.ReLU()]
        layers.append(circ_conv(hidden, 1))
        self.decoder = nn.Sequential(*layers)

    def forward(self, inputs, t_out):
        # inputs [B, T_in, 1, H, W] -> predictions [B, T_out, 1, H, W]
        b, t_in, _, hh, ww = inputs.shape
        h = inputs.new_zeros(b, len(self.cell.velocities), self.cell.hidden, hh, ww)
        for t in range(t_in):
            h = self.cell(inputs[:, t], h)
        prev = inputs[:, t_in - 1]
        outs = []
        for _ in range(t_out):
            h = self.cell(prev.detach(), h)
            out = self.decoder(h.max(dim=1).values)
            outs.append(out)
            prev = out
        return torch.stack(outs, dim=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["fernn", "grnn"], default="fernn")
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--v-range", type=int, default=1)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--t-in", type=int, default=10)
    p.add_argument("--t-out", type=int, default=10)
    p.add_argument("--decoder-layers", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default 0: os.cpu_count())")
    a = p.parse_args()
    v_range = 0 if a.model == "grnn" else a.v_range

    cuda = torch.cuda.is_available() and a.device != "cpu"
    if a.device == "cuda" and not cuda:
        raise SystemExit("--device cuda: torch.cuda.is_available() is False")
    device = torch.device("cuda" if cuda else "cpu")
    threads = a.threads if a.threads > 0 else (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    model = Seq2Seq(a.hidden, v_range, a.decoder_layers).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    inputs = torch.rand(a.batch, a.t_in, 1, a.size, a.size, device=device)
    targets = torch.rand(a.batch, a.t_out, 1, a.size, a.size, device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.mse_loss(model(inputs, a.t_out), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    def sync():
        if cuda:
            torch.cuda.synchronize()

    for i in range(a.warmup):
        t0 = time.perf_counter()
        step().item()
        sync()
        print(f"  torch warm-up {i + 1}/{a.warmup}: {1000 * (time.perf_counter() - t0):.1f} ms", file=sys.stderr)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    cpu_times = []
    for i in range(a.steps):
        sync()
        t0 = time.perf_counter()
        c0 = time.process_time()
        step().item()
        sync()
        times.append(1000 * (time.perf_counter() - t0))
        cpu_times.append(1000 * (time.process_time() - c0))
        print(f"  torch step {i + 1}/{a.steps}: {times[-1]:.1f} ms", file=sys.stderr)

    res = {
        "ms_per_step": statistics.median(times) if times else None,
        "best_ms": min(times) if times else None,
        "step_ms": [round(t, 2) for t in times],
        # CPU time of all threads: on a busy machine it grows less than wall time, but OpenMP threads that wait for
        # a core also spin, so it is an upper bound of the work.
        "cpu_ms_per_step": statistics.median(cpu_times) if cpu_times else None,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "threads": None if cuda else torch.get_num_threads(),
        "torch_version": torch.__version__,
        "python": sys.executable,
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_cuda_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
    }
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
