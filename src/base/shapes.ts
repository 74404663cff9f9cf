/** Image shape in NHWC order without the batch dimension: [height, width, channels]. */
export type ImageShape = [number, number, number];
