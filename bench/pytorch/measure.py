#!/usr/bin/env python3
"""Re-measure the PyTorch side of `npm run bench` on your own machine.

The bench compares mmgenre's training speed with fixed PyTorch figures measured once (PyTorch 1.13,
CPU, a 2-core machine): a head epoch (967 movies, 1280 + 100 -> 512 -> 23, batch 32: 0.11 s), a
GMU epoch (1280 + 100 -> 512 gated unit -> 23 over 15,552 movies, batch 32: 0.11 s per 967
movies, 1.77 s) and a bidirectional GRU epoch (967 plots of <= 200 tokens, GloVe-100 inputs,
hidden 128, batch 32: 4.0 s). This script times the same three on random data of the same
sizes, so the comparison can be made on any machine.

    pip install torch          # CPU build is enough
    python3 bench/pytorch/measure.py [--threads N] [--repeats 5] [--json out.json]

It prints the median epoch time of each (after one warm-up epoch) and, with --json, writes them.
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn

GENRES = 23


class Gmu(nn.Module):
    """The paper's gated multimodal unit: h_i = tanh(W_i x_i), z = sigmoid(W_z [x_v; x_t])."""

    def __init__(self, dims=(1280, 100), units=512):
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(d, units, bias=False) for d in dims)
        self.gate = nn.Linear(sum(dims), units, bias=False)
        self.out = nn.Linear(units, GENRES)

    def forward(self, visual, text):
        hv, ht = torch.tanh(self.proj[0](visual)), torch.tanh(self.proj[1](text))
        z = torch.sigmoid(self.gate(torch.cat([visual, text], dim=1)))
        return self.out(z * hv + (1 - z) * ht)


class BiGru(nn.Module):
    def __init__(self, dim=100, hidden=128):
        super().__init__()
        self.gru = nn.GRU(dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, GENRES)

    def forward(self, x):
        _, h = self.gru(x)
        return self.out(torch.cat([h[0], h[1]], dim=1))


def epoch_seconds(model, batches, repeats):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()

    def one_epoch():
        model.train()
        for inputs, y in batches:
            opt.zero_grad()
            loss_fn(model(*inputs), y).backward()
            opt.step()

    one_epoch()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        one_epoch()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def dense_batches(n, dims, batch=32):
    xs = [torch.randn(n, d) for d in dims]
    y = (torch.rand(n, GENRES) < 0.1).float()
    return [([x[i : i + batch] for x in xs], y[i : i + batch]) for i in range(0, n, batch)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", help="write the figures to this file")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    results = {}

    head = nn.Sequential(nn.Linear(1380, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, GENRES))
    head_batches = [([torch.cat(x, dim=1)], y) for x, y in dense_batches(967, (1280, 100))]
    results["head epoch, 967 movies (s)"] = epoch_seconds(head, head_batches, a.repeats)

    results["GMU epoch, 15552 movies (s)"] = epoch_seconds(Gmu(), dense_batches(15552, (1280, 100)), a.repeats)

    lengths = torch.randint(20, 201, (967,))
    order = torch.argsort(lengths)  # length-bucketed batches, as the bench's trainer does
    gru_batches = []
    for i in range(0, 967, 32):
        idx = order[i : i + 32]
        t = int(lengths[idx].max())
        gru_batches.append(([torch.randn(len(idx), t, 100)], (torch.rand(len(idx), GENRES) < 0.1).float()))
    results["biGRU epoch, 967 plots (s)"] = epoch_seconds(BiGru(), gru_batches, a.repeats)

    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}
    for k, v in results.items():
        print(f"{k:32s} {v:8.3f}")
    print(f"torch {info['torch']}, {info['threads']} thread(s)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(info, f, indent=2)


if __name__ == "__main__":
    main()
