export * from './image-deletion';
export * from './selection';
