// Every op family. Each file holds forward calls with their backward rules beside them.
export { add, relu } from './elementwise.js';
export { reshape } from './shape.js';
export { maxPool2d, globalAvgPool } from './pool.js';
export { probeMoments, probeNorm, probeDistance, probeStepAlong } from './probe.js';
export { logSoftmaxNll, type LossAccumulators } from './loss.js';
export { batchNorm, groupNorm, layerNorm, instanceNorm, initBatchNormState, planNorm, normForwardKernels, normBackwardKernels, type BatchNormState, type BatchNormOptions, type NormOptions, type NormKind, type NormPlan } from './norm.js';
export { conv2d, conv2dBackwardInput, conv2dBackwardWeight, planConv2d, selectConv2d, subgroupLanes, CONV_ROWS, CONV_OPTIONS, convOff, setConvOff, type Conv2dOptions, type Conv2dDims, type Conv2dPath, type Conv2dPass, type ConvRow, type ConvOption, type ConvChoice } from './conv2d.js';
