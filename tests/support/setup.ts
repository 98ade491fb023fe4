import * as tf from '@tensorflow/tfjs-core';

// As the CLI runs: production mode, which also drops TF.js's "install tfjs-node" banner.
tf.enableProdMode();
