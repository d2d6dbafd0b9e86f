"""Bug: relu_backward lets the gradient through where x == 0 (uses x >= 0)."""
import torch


def linear_forward(x, W, b):
    return torch.matmul(x, W) + b.unsqueeze(0)


def linear_backward(dout, x, W):
    dx = torch.matmul(dout, W.transpose(0, 1))
    dW = torch.matmul(x.transpose(0, 1), dout)
    db = dout.sum(dim=0)
    return dx, dW, db


def relu_forward(x):
    return x.masked_fill(x <= 0, 0.0)


def relu_backward(dout, x):
    return dout.masked_fill(x < 0, 0.0)


def sigmoid_forward(x):
    return 0.5 * (1.0 + torch.tanh(0.5 * x))


def sigmoid_backward(dout, x):
    s = sigmoid_forward(x)
    return dout * (s - s * s)


def softmax_cross_entropy(logits, y):
    log_probs = torch.log_softmax(logits, dim=-1)
    picked = log_probs.gather(1, y.view(-1, 1)).squeeze(1)
    n = logits.size(0)
    loss = -picked.sum() / n
    grad = torch.softmax(logits, dim=-1)
    grad = grad.scatter_add(1, y.view(-1, 1), -torch.ones(n, 1, dtype=logits.dtype, device=logits.device))
    return loss, grad / n


def mlp_loss_and_grads(params, x, y):
    a = linear_forward(x, params["W1"], params["b1"])
    h = relu_forward(a)
    logits = linear_forward(h, params["W2"], params["b2"])
    loss, dlogits = softmax_cross_entropy(logits, y)
    dh, dW2, db2 = linear_backward(dlogits, h, params["W2"])
    _, dW1, db1 = linear_backward(relu_backward(dh, a), x, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
