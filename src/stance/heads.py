"""The mention-pooling head: classify from [CLS] and the target's marked mention, not [CLS] alone.

BERT's own head reads only the pooler over [CLS]. With the target's mention wrapped in « » (the
`mark_mentions` option), the hidden state of the first « sits on the very words the stance is about;
concatenating it with [CLS] gave test macro-F1 +0.009 and the first held-out article set +0.035
(the second -0.009) over three seeds (E26 in docs/experiments.md), at the same cost. Importing this
module registers the head with transformers' Auto classes, so `AutoModelForSequenceClassification`
and `transformers.pipeline` load a saved model like any other (`stance.modeling` imports it before
loading).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, BertConfig, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from .articles import MARK_OPEN
from .errors import StanceError


class MentionPooledBertConfig(BertConfig):
    """A BERT config plus `marker_id`, the token id of « in the model's vocabulary."""

    model_type = "stance-mention-bert"

    def __init__(self, marker_id: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.marker_id = marker_id


class MentionPooledBert(BertPreTrainedModel):
    """BERT encoder; dense + tanh over [hidden at [CLS]; hidden at the first «]; linear classifier.
    A pair with no « (mention not found) reads [CLS] twice."""

    config_class = MentionPooledBertConfig

    def __init__(self, config: MentionPooledBertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.dense = nn.Linear(2 * config.hidden_size, config.hidden_size)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **kwargs):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        # argmax returns the first maximum: the first «, or position 0 ([CLS]) when there is none.
        position = (input_ids == self.config.marker_id).to(hidden.dtype).argmax(dim=1)
        mention = hidden.gather(1, position[:, None, None].expand(-1, 1, hidden.size(-1))).squeeze(1)
        pooled = torch.tanh(self.dense(self.dropout(torch.cat([hidden[:, 0], mention], dim=-1))))
        logits = self.classifier(self.dropout(pooled))
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


AutoConfig.register(MentionPooledBertConfig.model_type, MentionPooledBertConfig)
AutoModelForSequenceClassification.register(MentionPooledBertConfig, MentionPooledBert)


def build_mention_classifier(source: str, tokenizer, **config_kwargs) -> MentionPooledBert:
    """The mention-pooling head on a BERT checkpoint (the encoder's weights; a fresh head)."""
    base = AutoConfig.from_pretrained(source)
    if base.model_type != "bert":
        raise StanceError(f"model.pooling 'mention' needs a BERT encoder; {source} is {base.model_type!r} (use pooling: cls)")
    marker_id = tokenizer.convert_tokens_to_ids(MARK_OPEN)
    if marker_id is None or marker_id == tokenizer.unk_token_id:
        raise StanceError(f"model.pooling 'mention': the tokenizer of {source} has no token for {MARK_OPEN}")
    config = MentionPooledBertConfig.from_pretrained(source, marker_id=marker_id, **config_kwargs)
    return MentionPooledBert.from_pretrained(source, config=config, use_safetensors=True)
