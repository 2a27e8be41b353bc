"""Lightning with tuidl's logger: python examples/lightning_fit.py (pip install 'tuidl[lightning]')."""
import lightning as L
import torch

from tuidl.integrations.lightning import TuidlLogger


class Net(L.LightningModule):
    def __init__(self, lr: float = 0.05):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))

    def step(self, batch, name):
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.net(x), y)
        self.log(name, loss)
        return loss

    def training_step(self, batch, i):
        return self.step(batch, "train_loss")

    def validation_step(self, batch, i):
        self.step(batch, "val_loss")

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


torch.manual_seed(0)
x = torch.randn(256, 2)
data = torch.utils.data.TensorDataset(x, (x[:, 0] * x[:, 1] > 0).long())
train, val = torch.utils.data.random_split(data, [200, 56])
loader = lambda d: torch.utils.data.DataLoader(d, batch_size=32)  # noqa: E731
trainer = L.Trainer(max_epochs=3, logger=TuidlLogger(name="lightning-fit", project="examples"),
                    accelerator="cpu", log_every_n_steps=1, enable_checkpointing=False, enable_progress_bar=False)
trainer.fit(Net(), loader(train), loader(val))
