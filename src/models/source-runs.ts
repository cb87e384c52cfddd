/**
 * Trained runs as a model family sees them: a fusion may take a modality's branch from a trained
 * unimodal run (`branches.<input>.from`). Families stay pure: the runs layer (src/runs/) reads the
 * run and hands the layer over through the build context (`ModelBuildContext.sources`).
 */
import type { InputSpec, LayerNode } from './spec.js';

export interface SourceLayer {
  /** Absolute run directory. */
  run: string;
  /** The layer's node in the run's spec. */
  node: LayerNode;
  /**
   * The run's layers from its input up to `node` (ends with `node`), dropouts left out: the
   * representation as the run computes it at prediction time. One layer for a one-layer MLP.
   */
  chain: LayerNode[];
  /** Output size of the layer. */
  units: number;
  /** The run's input (encoder, normalisation), which must match the fusion's. */
  input: InputSpec;
  /**
   * For a run over several inputs: this input's block of the layer's kernel rows, and whether
   * the bias goes with it (the first input's branch carries it, the others' bias is zero).
   */
  rows?: SourceRows;
}

/** The fusion input a branch is for, the fusion's labels and (for a multi-input source) all its inputs. */
export interface SourceContext {
  input: InputSpec;
  labels: string[];
  inputs?: InputSpec[];
}

export interface SourceRows {
  offset: number;
  count: number;
  bias: boolean;
}

/** Reads trained runs for a spec that takes layers from them (src/runs/source-layer.ts gives one). */
export interface SourceRuns {
  /** The layer `layer` (default: the last hidden one) of run `run`, for a branch like `like`. */
  layer(run: string, layer: string | undefined, like: SourceContext): SourceLayer;
  /** The absolute directory of run `run` as the options name it. */
  dir(run: string): string;
}
