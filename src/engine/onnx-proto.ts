/**
 * A minimal ONNX model writer: the subset of onnx.proto (IR 8) needed to describe a feed-forward
 * graph with float tensors. protobufjs does the wire encoding; the schema subset is inlined
 * (field numbers from onnx/onnx.proto3) because no maintained npm package ships it for protobufjs 8.
 */
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  string name = 1;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  AttributeType type = 20;
}
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
  string domain = 7;
}
message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  string producer_version = 3;
  string doc_string = 6;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  string name = 8;
  bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
}
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
`;

const FLOAT = 1;
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

let modelType: protobuf.Type | null = null;
function ModelProto(): protobuf.Type {
  modelType ??= protobuf.parse(SCHEMA).root.lookupType('onnx.ModelProto');
  return modelType;
}

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** Integers (and integer lists) are INT(S); wrap floats as { float } / { floats }. */
  attrs?: Record<string, AttrValue>;
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  /** float32 data, or BigInt64Array for int64 tensors (shapes for Reshape etc.). */
  data: Float32Array | BigInt64Array;
}

export interface OnnxValue {
  name: string;
  /** Dimensions; a string names a symbolic dimension (e.g. 'N' for the batch). */
  shape: Array<number | string>;
}

export interface OnnxGraph {
  name?: string;
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  /** Default opset 13 (Clip with min/max inputs, Gemm, Conv with group, AveragePool...). */
  opset?: number;
}

function attribute(name: string, v: AttrValue): Record<string, unknown> {
  if (typeof v === 'number') return { name, type: ATTR.INT, i: v };
  if (typeof v === 'string') return { name, type: ATTR.STRING, s: Buffer.from(v) };
  if (Array.isArray(v)) return { name, type: ATTR.INTS, ints: v };
  if ('float' in v) return { name, type: ATTR.FLOAT, f: v.float };
  return { name, type: ATTR.FLOATS, floats: v.floats };
}

function valueInfo(v: OnnxValue): Record<string, unknown> {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Serialise `graph` as an ONNX model (bytes for a .onnx file or for onnxruntime directly). */
export function encodeOnnxModel(graph: OnnxGraph, producer = 'mmgenre'): Uint8Array {
  const T = ModelProto();
  const msg = T.fromObject({
    irVersion: 8,
    producerName: producer,
    opsetImport: [{ domain: '', version: graph.opset ?? 13 }],
    graph: {
      name: graph.name ?? 'graph',
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: graph.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: t.data instanceof BigInt64Array ? INT64 : FLOAT,
        // raw_data is little-endian, as typed arrays are on every platform Node runs on.
        rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      })),
      node: graph.nodes.map((n, k) => ({
        name: n.name ?? `${n.op}_${k}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([name, v]) => attribute(name, v)),
      })),
    },
  });
  return T.encode(msg).finish();
}
