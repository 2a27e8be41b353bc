"""A plain PyTorch loop logged to tuidl: python examples/plain_loop.py, then `tuidl` → Runs (5)."""
import torch

import tuidl

torch.manual_seed(0)
x = torch.randn(256, 2)
y = (x[:, 0] * x[:, 1] > 0).long()  # XOR-like quadrants
model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
opt = torch.optim.Adam(model.parameters(), lr=0.05)

run = tuidl.init(project="examples", name="plain-loop", config={"lr": 0.05, "hidden": 16})
for step in range(60):
    run.wait_if_paused()  # pause / checkpoint-now from the dashboard
    if run.should_stop:  # stop from the dashboard
        break
    logits = model(x[:200])
    loss = torch.nn.functional.cross_entropy(logits, y[:200])
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        val = model(x[200:])
        val_loss = torch.nn.functional.cross_entropy(val, y[200:])
        val_acc = (val.argmax(1) == y[200:]).float().mean()
    run.log({"train/loss": loss, "val/loss": val_loss, "val/acc": val_acc})
run.finish()
