"""Golden decisions of the paper's greedy relocation, computed in float64 by PyTorch.

An independent oracle for bimt's swap search (Sources/BIMT/RelocationPlanner.swift): it
shares no code with bimt and follows the reference procedure literally. For each neuron
layer in order (inputs first; input swaps only where enabled), rank the positions once by
importance (sum of |incoming| and |outgoing| weights; the reference's
flip(argsort(score)), so equal importances go to the higher index first), then for each
of the top_k positions j try swapping it with every position k, recompute the WHOLE
network's connection cost each time, and keep the first k of lowest cost (k = j, no swap,
included). The cost is the paper's: reduce_ij |W_ij| (wf dist + l0) per matrix, plus
reduce |b| l0 when biases are penalized.

Writes Tests/Golden/relocation-greedy.json: per case the layer sizes, layouts, folds, cost
settings, top_k, the initial weights and biases (float32 values) and the final
permutation of every layer and final weights after one relocation.
Run: python3 scripts/golden/relocation_golden.py  (torch)
"""
import json, math, os
import torch

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "Golden", "relocation-greedy.json")


def coordinates(kind, slots):
    """(x, y) of each slot: line, grid (square) or ring."""
    if kind == "line":
        return [((i + 0.5) / slots, 0.0) for i in range(slots)]
    if kind == "grid":
        s = int(round(math.sqrt(slots)))
        assert s * s == slots
        return [(((i % s) + 0.5) / s, ((i // s) + 0.5) / s) for i in range(slots)]
    if kind == "ring":
        return [(0.5 + 0.25 * math.cos(2 * math.pi * (i + 0.5) / slots),
                 0.5 + 0.25 * math.sin(2 * math.pi * (i + 0.5) / slots)) for i in range(slots)]
    raise ValueError(kind)


class Net:
    def __init__(self, case, generator):
        self.sizes, self.layouts, self.folds = case["sizes"], case["layouts"], case["folds"]
        self.weights, self.biases = [], []
        for l in range(len(self.sizes) - 1):
            w = (torch.rand(self.sizes[l + 1], self.sizes[l], generator=generator) * 2 - 1).float().double()
            b = (torch.rand(self.sizes[l + 1], generator=generator) * 2 - 1).float().double()
            self.weights.append(w)
            self.biases.append(b)
        for layer, neurons in case.get("dead", []):
            # Dead neurons: no incoming and no outgoing weights (equal, zero importance).
            for n in neurons:
                self.weights[layer - 1][n, :] = 0
                self.biases[layer - 1][n] = 0
                self.weights[layer][:, n] = 0
        self.perms = [list(range(n)) for n in self.sizes]
        # Neuron positions: neuron n of a layer of m slots sits at slot n % m.
        self.positions = []
        for n, kind, f in zip(self.sizes, self.layouts, self.folds):
            slots = coordinates(kind, n // f)
            self.positions.append(torch.tensor([slots[i % (n // f)] for i in range(n)]))

    def distance(self, l):
        out, inp = self.positions[l + 1], self.positions[l]
        return (out[:, None, :] - inp[None, :, :]).abs().sum(-1)   # Manhattan (|dx| on a line)

    def cost(self, s):
        total = torch.zeros(())
        last = len(self.weights) - 1
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            wf = s["lastWeightFactor"] if (l == last and s["lastWeightFactor"] is not None) else s["weightFactor"]
            terms = w.abs() * (wf * self.distance(l) + s["l0"])
            total = total + (terms.mean() if s["reduction"] == "mean" else terms.sum())
            if s["penalizeBiases"]:
                bt = b.abs() * s["l0"]
                total = total + (bt.mean() if s["reduction"] == "mean" else bt.sum())
        return total

    def swap(self, i, j, k):
        """Swap units j and k (slots) of neuron layer i, all folds together."""
        if j == k:
            return
        m = self.sizes[i] // self.folds[i]
        for f in range(self.folds[i]):
            a, c = f * m + j, f * m + k
            if i > 0:
                w = self.weights[i - 1]
                w[[a, c], :] = w[[c, a], :]
                b = self.biases[i - 1]
                b[[a, c]] = b[[c, a]]
            if i < len(self.sizes) - 1:
                w = self.weights[i]
                w[:, [a, c]] = w[:, [c, a]]
            p = self.perms[i]
            p[a], p[c] = p[c], p[a]

    def importance(self, i):
        m = self.sizes[i] // self.folds[i]
        score = torch.zeros(self.sizes[i])
        if i > 0:
            score = score + self.weights[i - 1].abs().sum(1)
        if i < len(self.sizes) - 1:
            score = score + self.weights[i].abs().sum(0)
        return score.reshape(self.folds[i], m).sum(0)

    def relocate(self, s, top_k, swap_inputs):
        for i in range(len(self.sizes)):
            if i == 0 and not swap_inputs:
                continue
            m = self.sizes[i] // self.folds[i]
            order = torch.flip(torch.argsort(self.importance(i), stable=True), [0])[:top_k]
            for j in order.tolist():
                costs = []
                for k in range(m):
                    self.swap(i, j, k)
                    costs.append(self.cost(s))
                    self.swap(i, j, k)
                best = int(torch.argmin(torch.stack(costs)))
                self.swap(i, j, best)


CASES = [
    {"name": "symbolic line, sum, biases", "sizes": [5, 8, 6, 3], "layouts": ["line"] * 4, "folds": [1, 1, 1, 1],
     "settings": {"weightFactor": 1.0, "l0": 0.1, "reduction": "sum", "penalizeBiases": True, "lastWeightFactor": None},
     "topK": 4, "swapInputs": True, "seed": 1},
    {"name": "image grids and a ring, mean, wf on every matrix", "sizes": [16, 9, 9, 6], "layouts": ["grid", "grid", "grid", "ring"],
     "folds": [1, 1, 1, 1],
     "settings": {"weightFactor": 2.0, "l0": 0.5, "reduction": "mean", "penalizeBiases": True, "lastWeightFactor": None},
     "topK": 5, "swapInputs": False, "seed": 2},
    {"name": "folded input (2 tokens), dead neurons tie, every neuron a candidate", "sizes": [8, 10, 5], "layouts": ["line"] * 3,
     "folds": [2, 1, 1], "dead": [[1, [2, 5, 7]]],
     "settings": {"weightFactor": 2.0, "l0": 0.5, "reduction": "mean", "penalizeBiases": False, "lastWeightFactor": None},
     "topK": 10, "swapInputs": True, "seed": 3},
    {"name": "deeper line, sum, no biases", "sizes": [4, 7, 7, 7, 2], "layouts": ["line"] * 5, "folds": [1] * 5,
     "settings": {"weightFactor": 1.0, "l0": 0.1, "reduction": "sum", "penalizeBiases": False, "lastWeightFactor": None},
     "topK": 7, "swapInputs": True, "seed": 4},
]


def main():
    results = []
    for case in CASES:
        generator = torch.Generator().manual_seed(case["seed"])
        net = Net(case, generator)
        initial = {"weights": [w.flatten().tolist() for w in net.weights], "biases": [b.tolist() for b in net.biases]}
        before = float(net.cost(case["settings"]))
        net.relocate(case["settings"], case["topK"], case["swapInputs"])
        after = float(net.cost(case["settings"]))
        assert after <= before + 1e-12
        results.append({**{k: case[k] for k in ("name", "sizes", "layouts", "folds", "settings", "topK", "swapInputs")},
                        "initial": initial, "costBefore": before, "costAfter": after,
                        "permutations": net.perms,
                        "finalWeights": [w.flatten().tolist() for w in net.weights],
                        "finalBiases": [b.tolist() for b in net.biases]})
    with open(OUT, "w") as f:
        json.dump({"format": "bimt relocation golden v1: the reference's greedy relocation in float64 (PyTorch "
                             + torch.__version__ + ")", "cases": results}, f)
    print("wrote", OUT, [(r["name"], r["permutations"]) for r in results])


if __name__ == "__main__":
    main()
