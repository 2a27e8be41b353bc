"""Hugging Face Trainer with tuidl's callback, a tiny BERT from a config (nothing downloaded):
python examples/hf_trainer.py (pip install 'tuidl[transformers]')."""
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from tuidl.integrations.transformers import TuidlCallback


class Data(torch.utils.data.Dataset):  # label: is the first token even
    def __init__(self, n, seed):
        self.ids = torch.randint(1, 30, (n, 8), generator=torch.Generator().manual_seed(seed))

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": int(self.ids[i, 0] % 2)}


torch.manual_seed(0)
config = BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=16, max_position_embeddings=16, num_labels=2)
args = TrainingArguments(output_dir="/tmp/tuidl-hf-example", max_steps=20, per_device_train_batch_size=8,
                         learning_rate=3e-3, logging_steps=2, eval_strategy="steps", eval_steps=10,
                         save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True)
trainer = Trainer(model=BertForSequenceClassification(config), args=args, train_dataset=Data(128, 0),
                  eval_dataset=Data(32, 1), callbacks=[TuidlCallback(name="hf-trainer", project="examples")])
trainer.train()
