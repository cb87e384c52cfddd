/** Plot, title and company encoders: tokeniser, GloVe cache, sequences, mean vectors, TF-IDF. */
export * from './tokenize.js';
export * from './glove.js';
export * from './vocabulary.js';
export * from './mean.js';
export * from './tfidf.js';
export * from './companies.js';
export * from './encoders.js';
