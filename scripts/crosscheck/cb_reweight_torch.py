# Cross-check in PyTorch: does class-balanced re-weighting (beta 0.9999) from epoch 0 diverge on the ldam-drw
# default setting (Fashion-MNIST-LT via the official subset rule, MLP 784-256-256, SGD 0.9, lr 0.1, 20 epochs)?
# Usage: ~/peer/bin/python scripts/crosscheck/cb_reweight_torch.py RATIO cb|none SEED [LR]  (needs torch, numpy)
import gzip, struct, sys, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    magic, n = struct.unpack('>II', data[:8])
    if magic == 2051:
        r, c = struct.unpack('>II', data[8:16]); return np.frombuffer(data, np.uint8, offset=16).reshape(n, r * c)
    return np.frombuffer(data, np.uint8, offset=8)
d = '/usr/share/datasets/fashion-mnist/'
X, Y = idx(d + 'train-images-idx3-ubyte.gz'), idx(d + 'train-labels-idx1-ubyte.gz')
Xt, Yt = idx(d + 't10k-images-idx3-ubyte.gz'), idx(d + 't10k-labels-idx1-ubyte.gz')
ratio = float(sys.argv[1]); rule = sys.argv[2]; seed = int(sys.argv[3]); lr = float(sys.argv[4]) if len(sys.argv) > 4 else 0.1
counts = [int(6000 * (1 / ratio) ** (i / 9)) for i in range(10)]
np.random.seed(0); sel = []
for c in range(10):
    ids = np.where(Y == c)[0]; np.random.shuffle(ids); sel += list(ids[:counts[c]])
sel = np.array(sel); mean, std = X.mean() / 255, X.std() / 255
xs = torch.tensor((X[sel] / 255 - mean) / std, dtype=torch.float32); ys = torch.tensor(Y[sel], dtype=torch.long)
xt = torch.tensor((Xt / 255 - mean) / std, dtype=torch.float32); yt = torch.tensor(Yt, dtype=torch.long)
torch.manual_seed(seed)
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=2e-4)
beta = 0.9999; w = (1 - beta) / (1 - np.power(beta, counts)); w = w / w.sum() * 10
weight = torch.tensor(w, dtype=torch.float32) if rule == 'cb' else None
for e in range(20):
    l = lr * (e + 1) / 2 if e < 2 else lr * (0.01 if e >= 15 else 1) * (0.01 if e >= 18 else 1)
    for g in opt.param_groups: g['lr'] = l
    perm = torch.randperm(len(ys)); bad = False
    for i in range(0, len(ys), 128):
        b = perm[i:i + 128]; loss = F.cross_entropy(model(xs[b]), ys[b], weight=weight)
        if not torch.isfinite(loss): bad = True; break
        opt.zero_grad(); loss.backward(); opt.step()
    if bad: print(f'ratio {ratio} {rule} seed {seed}: loss non-finite at epoch {e}'); break
else:
    with torch.no_grad(): p = model(xt).argmax(1)
    print(f'ratio {ratio} {rule} seed {seed}: top-1 error {100 * (p != yt).float().mean():.2f}, predicted classes {len(p.unique())}')
