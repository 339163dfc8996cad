/** Every workflow of the Kairos SDK suite. */
export * from './basics.js';
export * from './children.js';
export * from './sticky.js';
