"""E19: pooling for MiniLM-L6. Replaces BERT's pooler (dense + tanh over [CLS]) with a head over
[CLS] and/or the mean of all tokens and/or the first « marker (the target's mention), then trains
the default recipe. Run from the repository root:

    python docs/experiments/pooling.py cls-ment|mean|mean-ment SEED OUTPUT
"""

import functools
import sys

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, BertConfig, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

sys.path.insert(0, "docs/experiments")
import stance.modeling  # noqa: E402
from common import train_and_score  # noqa: E402
from stance.labels import ID2LABEL, LABEL2ID  # noqa: E402


class PooledConfig(BertConfig):
    model_type = "stance-pooled-bert"

    def __init__(self, pooling: str = "cls-ment", marker_id: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.pooling, self.marker_id = pooling, marker_id


class PooledBert(BertPreTrainedModel):
    config_class = PooledConfig

    def __init__(self, config):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.dense = nn.Linear(len(config.pooling.split("-")) * config.hidden_size, config.hidden_size)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **kwargs):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        parts = []
        for pooling in self.config.pooling.split("-"):
            if pooling == "cls":
                parts.append(hidden[:, 0])
            elif pooling == "mean":
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                parts.append((hidden * mask).sum(1) / mask.sum(1).clamp(min=1))
            elif pooling == "ment":  # the first «; position 0 ([CLS]) when the mention was not marked
                position = (input_ids == self.config.marker_id).int().argmax(1)
                parts.append(hidden[torch.arange(hidden.size(0)), position])
        pooled = torch.tanh(self.dense(self.dropout(torch.cat(parts, -1))))
        return SequenceClassifierOutput(logits=self.classifier(self.dropout(pooled)))


AutoConfig.register("stance-pooled-bert", PooledConfig)
AutoModelForSequenceClassification.register(PooledConfig, PooledBert)


def build_classifier(base: str, pooling: str, **overrides):
    source = stance.modeling.resolve_base_model(base)
    tokenizer = AutoTokenizer.from_pretrained(source)
    config = PooledConfig.from_pretrained(source, num_labels=3, id2label=ID2LABEL, label2id=LABEL2ID, pooling=pooling, marker_id=tokenizer.convert_tokens_to_ids("«"))
    return PooledBert.from_pretrained(source, config=config, use_safetensors=True), tokenizer


if __name__ == "__main__":
    stance.modeling.build_classifier = functools.partial(build_classifier, pooling=sys.argv[1])  # train() imports it at call time
    train_and_score(int(sys.argv[2]), sys.argv[3])
