import { useEffect, useState } from 'preact/hooks';

type Source = { subscribe(fn: () => void): () => void } | { onChange(fn: () => void): () => void };

/** Re-renders the component whenever the source says it changed. */
export function useSubscription(source: Source) {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const bump = () => setVersion((n) => n + 1);
    return 'subscribe' in source ? source.subscribe(bump) : source.onChange(bump);
  }, [source]);
}
