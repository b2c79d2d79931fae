"""Node processes for tests: node.launch.NodeProcess with a test passphrase and config."""

from __future__ import annotations

from pathlib import Path

from gridledger.node.launch import NodeProcess, free_port

PASSPHRASE = "test-passphrase"

__all__ = ["PASSPHRASE", "NodeProcess", "free_port", "start_node", "write_config"]


def write_config(path: Path, prefund: dict[str, int], block_period_s: float = 0.05) -> Path:
    lines = ["[node]", f"block_period_s = {block_period_s}", "", "[chain.prefund]"]
    lines += [f'"{address}" = "{balance}"' for address, balance in prefund.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def deployed(node: NodeProcess) -> bool:
    return bool(node.get("/v1/contracts/addresses"))


def start_node(data_dir: Path, config: Path, port: int | None = None) -> NodeProcess:
    """An embedded-chain node with `config`, returned once its contracts are deployed."""
    node = NodeProcess(
        data_dir,
        PASSPHRASE,
        port=port,
        extra_args=("--config", str(config)),
        log_path=data_dir.parent / f"node-{data_dir.name}.log",
    )
    return node.start(deployed)
